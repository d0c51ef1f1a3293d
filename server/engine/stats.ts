/**
 * Generation statistics: a clock that attributes time to decode stages, and the analytic speedup bound.
 *
 * Cost model (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative Decoding", section 3.4): a
 * speculative step drafts g tokens at cost c each (c = one draft token / one full-model forward) and verifies them
 * at the cost of one full forward, so it costs g*c + 1; it yields T tokens (accepted drafts + the full model's one).
 *   speedup <= T / (g*c + 1)
 * Leviathan et al. write T = (1 - a^(g+1)) / (1 - a) for i.i.d. acceptance a; drafts of code are accepted in bursts
 * (all of a repetitive stretch, none of a novel one), so T is measured here: (accepted + steps) / steps.
 * For self-speculation c = E / L (the draft runs E of L layers; the verify pass runs [0,E) on one token plus [E,L)
 * on g+1 rows, about one full forward when a forward is bound by reading the weights). A second bound uses c measured
 * from the stage timings: (draft ms / drafted) / (verify ms / steps).
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

  timeSync<T>(stage: Stage, work: () => T): T {
    const start = performance.now();
    try {
      return work();
    } finally {
      this.ms[stage] += performance.now() - start;
    }
  }
}

/** Upper bound on the speedup over plain decoding for T tokens per step, g drafts per step at relative cost c. */
export function analyticSpeedupBound(tokensPerStep: number, draftsPerStep: number, draftCost: number): number {
  return tokensPerStep / (draftsPerStep * draftCost + 1);
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
  /** Layers [0, E) and the exit's head while drafting (self-speculative) or generating (early-exit). */
  draftMs: number;
  /** Mean time of one drafted token, its head included (draftMs / drafted; 0 without drafts). */
  draftTokenMs: number;
  /** Full-model passes with their head: the verify pass (self-speculative) or every token (full). */
  verifyMs: number;
  /** Token choice from the head's output in JS (softmax, sampling); the head itself runs inside the passes. */
  headMs: number;
  totalMs: number;
  /** Time spent building the sessions of a new exit layer or mode before this generation (not in totalMs). */
  arrangeMs: number;
  /** Leviathan et al.'s cost model with the measured tokens and drafts per step, c = E / L (see above). */
  analyticSpeedupBound: number;
  /**
   * Speedup over full decoding estimated from this run: the same formula with c measured (ms per draft token / ms
   * per verify pass). 1 without drafts. Sent to the client under this name (CompletionStats).
   */
  estimatedSpeedup: number;
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
  arrangeMs: number;
  clock: StageClock;
}

export function summarize(input: StatsInput): GenerationStats {
  const { clock, drafted, accepted, steps } = input;
  const decodeMs = Math.max(1e-9, input.totalMs - clock.ms.prefill);
  const acceptanceRate = drafted === 0 ? 0 : accepted / drafted;
  const meanDraft = steps === 0 ? 0 : drafted / steps;
  const tokensPerStep = steps === 0 ? 0 : (accepted + steps) / steps;
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
    draftTokenMs: drafted === 0 ? 0 : clock.ms.draft / drafted,
    verifyMs: clock.ms.verify,
    headMs: clock.ms.head,
    totalMs: input.totalMs,
    arrangeMs: input.arrangeMs,
    analyticSpeedupBound: speculative ? analyticSpeedupBound(tokensPerStep, meanDraft, input.exitLayer / input.numLayers) : 1,
    estimatedSpeedup: speculative ? analyticSpeedupBound(tokensPerStep, meanDraft, measuredCost) : 1,
    mode: input.mode,
    exitLayer: input.exitLayer,
    draftLength: input.draftLength,
    device: input.device,
  };
}
