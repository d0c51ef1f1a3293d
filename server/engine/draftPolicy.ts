/**
 * How many tokens to draft per self-speculative step.
 *
 * Fixed: always d (the paper). Adaptive (beyond the paper): three cheap rules.
 *  1. Confidence: stop drafting as soon as the draft's probability of its own token falls under a threshold;
 *     a doubtful draft token is likely rejected, and every token after a rejection is wasted work.
 *  2. Recent acceptance: the budget for the next step grows by 2 after a step whose drafts were all accepted and
 *     shrinks by 1 after one with a rejection (the schedule of transformers' "heuristic" assistant), in [0, d].
 *  3. A budget of 0 is a plain full-model step: where the early exit is useless (a model not trained for it),
 *     self-speculation costs no more than full decoding, and probes with 1 draft every PROBE_INTERVAL steps.
 */
import type { Proposal } from './tokenChoice.js';

export interface DraftPolicy {
  /** Most drafts to make this step. */
  budget(): number;
  /** Whether to draft another token after this proposal. */
  keepDrafting(proposal: Proposal): boolean;
  /** Outcome of a step, for policies that learn from it. */
  record(drafted: number, accepted: number): void;
}

export class FixedDraft implements DraftPolicy {
  constructor(private readonly draftLength: number) {}
  budget(): number {
    return this.draftLength;
  }
  keepDrafting(): boolean {
    return true;
  }
  record(): void {}
}

export const DEFAULT_CONFIDENCE_THRESHOLD = 0.4;
export const PROBE_INTERVAL = 8;

export class AdaptiveDraft implements DraftPolicy {
  private current: number;
  private stepsWithoutDrafts = 0;

  constructor(
    private readonly maxDraftLength: number,
    private readonly confidenceThreshold = DEFAULT_CONFIDENCE_THRESHOLD,
  ) {
    this.current = maxDraftLength;
  }

  budget(): number {
    return this.current;
  }

  keepDrafting(proposal: Proposal): boolean {
    return proposal.confidence >= this.confidenceThreshold;
  }

  record(drafted: number, accepted: number): void {
    if (drafted === 0) {
      if (++this.stepsWithoutDrafts >= PROBE_INTERVAL) this.current = 1;
      return;
    }
    this.stepsWithoutDrafts = 0;
    const next = accepted === drafted ? this.current + 2 : this.current - 1;
    this.current = Math.max(0, Math.min(this.maxDraftLength, next));
  }
}
