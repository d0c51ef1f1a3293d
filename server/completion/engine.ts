// What completion needs from the engine (server/engine), narrowed to the calls it makes. The engine's worker-backed
// client satisfies it structurally; keeping the seam this narrow lets unit tests script an engine's replies.
import type { DecodingMode } from '../protocol.js';

export interface CompletionGenerationParams {
  mode: DecodingMode;
  exitLayer: number;
  draftLength: number;
  adaptiveDraft: boolean;
  maxNewTokens: number;
  temperature: number;
  stopStrings: string[];
  timeBudgetMs: number | null;
}

export interface CompletionGenerationStats {
  promptTokens: number;
  promptCacheHitTokens: number;
  timeToFirstTokenMs: number;
  tokensPerSecond: number;
  generatedTokens: number;
  drafted: number;
  accepted: number;
  acceptanceRate: number;
  totalMs: number;
  /** The engine's speedup estimate from this run's measured draft and verify costs. */
  measuredSpeedupBound: number;
  exitLayer: number;
  draftLength: number;
  device: string;
}

export interface CompletionGenerationResult {
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
