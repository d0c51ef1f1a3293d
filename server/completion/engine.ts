// What completion needs from the engine (server/engine), narrowed to the calls it makes. The engine's worker-backed
// client satisfies it structurally; keeping the seam this narrow lets unit tests script an engine's replies.
// The parameter and statistics types are the engine's own, picked down to the fields completion sets or reads.
// The engine settings are the engine's own parameters by name: a setting the engine lacks fails to compile here.
import type { GenerationParams, GenerationStats } from '../engine/engine.js';
import type { EngineSettings } from '../protocol.js';

export type CompletionGenerationParams = Pick<
  GenerationParams,
  'mode' | 'exitLayer' | 'draftLength' | 'maxNewTokens' | 'temperature' | 'stopStrings' | 'healedText' | keyof EngineSettings
>;

/** How the operating point decodes: mode, E and d, and the engine settings it overrides (operatingPoint.ts). */
export type Decoding = Pick<CompletionGenerationParams, 'mode' | 'exitLayer' | 'draftLength'> & Partial<EngineSettings>;

export type CompletionGenerationStats = Pick<
  GenerationStats,
  | 'promptTokens'
  | 'promptCacheHitTokens'
  | 'timeToFirstTokenMs'
  | 'tokensPerSecond'
  | 'generatedTokens'
  | 'drafted'
  | 'accepted'
  | 'acceptanceRate'
  | 'totalMs'
  | 'estimatedSpeedup'
  | 'exitLayer'
  | 'draftLength'
  | 'device'
>;

export interface CompletionGenerationResult {
  /**
   * Generated tokens, EOS excluded: a paused generation resumes from the prompt and them. null when the engine
   * cannot say which tokens it generated (a remote server sends text): such a generation is not resumed.
   */
  tokens: number[] | null;
  text: string;
  stopReason: string;
  stats: CompletionGenerationStats;
}

export interface CompletionEngine {
  generate(
    prompt: number[],
    params: Partial<CompletionGenerationParams>,
    options: { signal?: AbortSignal; onText?: (delta: string, tokens: number[]) => void },
  ): Promise<CompletionGenerationResult>;
  tokenize(text: string): number[] | Promise<number[]>;
  dispose(): Promise<void>;
}
