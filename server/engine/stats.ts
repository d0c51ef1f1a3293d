/**
 * Generation statistics: a clock that attributes time to decode stages, and the analytic speedup bound.
 *
 * Cost model (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative Decoding", eq. 1 and
 * theorem 3.8): with per-token acceptance probability a, draft length g and draft cost c (one draft token over one
 * full-model forward), a speculative step yields (1 - a^(g+1)) / (1 - a) tokens and costs g*c + 1 full forwards, so
 *   speedup <= (1 - a^(g+1)) / ((1 - a) * (g*c + 1)).
 * For self-speculation c = E / L (the draft runs E of L layers; the verify pass runs [0,E) on one token plus [E,L)
 * on g+1 rows, about one full forward). a is estimated as accepted / drafted, g as drafted / steps.
 */

export type Stage = 'prefill' | 'draft' | 'verify' | 'head';

export class StageClock {
  readonly ms: Record<Stage, number> = { prefill: 0, draft: 0, verify: 0, head: 0 };

  async time<T>(stage: Stage, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.ms[stage] += performance.now() - start;
    }
  }
}

/** Leviathan et al.'s expected improvement factor; a = 1 gives g + 1 tokens per step. */
export function analyticSpeedupBound(acceptance: number, draftLength: number, draftCost: number): number {
  if (draftLength <= 0) return 1;
  const tokensPerStep =
    acceptance >= 1 ? draftLength + 1 : (1 - Math.pow(acceptance, draftLength + 1)) / (1 - acceptance);
  return tokensPerStep / (draftLength * draftCost + 1);
}

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens whose KV rows came from the previous request (not recomputed). */
  promptCacheHitTokens: number;
  /** From the call to the first generated token, prefill included. */
  timeToFirstTokenMs: number;
  /** Generated tokens per second of decoding (prefill excluded). */
  tokensPerSecond: number;
  generatedTokens: number;
  /** Self-speculative only: draft tokens proposed, and how many the full model accepted. */
  drafted: number;
  accepted: number;
  acceptanceRate: number;
  /** Decoding steps (one per token for full / early-exit, one per draft-verify round for self-speculative). */
  steps: number;
  prefillMs: number;
  /** Layers [0, E) while drafting (self-speculative) or generating (early-exit). */
  draftMs: number;
  /** Full-model layer passes: the verify pass (self-speculative) or every token (full). */
  verifyMs: number;
  /** Final norm + LM head and token choice. */
  headMs: number;
  totalMs: number;
  /** Leviathan et al.'s bound for the measured acceptance and mean draft length, with c = E / L. */
  analyticSpeedupBound: number;
  /** The same bound with c measured: ms per draft token / ms per verify pass. */
  measuredSpeedupBound: number;
  mode: string;
  exitLayer: number;
  draftLength: number;
  device: string;
}

export interface StatsInput {
  mode: string;
  exitLayer: number;
  draftLength: number;
  numLayers: number;
  device: string;
  promptTokens: number;
  promptCacheHitTokens: number;
  generatedTokens: number;
  steps: number;
  drafted: number;
  accepted: number;
  timeToFirstTokenMs: number;
  totalMs: number;
  clock: StageClock;
}

export function summarize(input: StatsInput): GenerationStats {
  const { clock, drafted, accepted, steps } = input;
  const decodeMs = Math.max(1e-9, input.totalMs - clock.ms.prefill);
  const acceptanceRate = drafted === 0 ? 0 : accepted / drafted;
  const meanDraft = steps === 0 ? 0 : drafted / steps;
  const speculative = input.mode === 'self-speculative' && drafted > 0;
  const measuredCost = speculative && clock.ms.verify > 0 ? clock.ms.draft / drafted / (clock.ms.verify / steps) : 1;
  return {
    promptTokens: input.promptTokens,
    promptCacheHitTokens: input.promptCacheHitTokens,
    timeToFirstTokenMs: input.timeToFirstTokenMs,
    tokensPerSecond: (input.generatedTokens * 1000) / decodeMs,
    generatedTokens: input.generatedTokens,
    drafted,
    accepted,
    acceptanceRate,
    steps,
    prefillMs: clock.ms.prefill,
    draftMs: clock.ms.draft,
    verifyMs: clock.ms.verify,
    headMs: clock.ms.head,
    totalMs: input.totalMs,
    analyticSpeedupBound: speculative ? analyticSpeedupBound(acceptanceRate, meanDraft, input.exitLayer / input.numLayers) : 1,
    measuredSpeedupBound: speculative ? analyticSpeedupBound(acceptanceRate, meanDraft, measuredCost) : 1,
    mode: input.mode,
    exitLayer: input.exitLayer,
    draftLength: input.draftLength,
    device: input.device,
  };
}
