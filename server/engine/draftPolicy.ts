/**
 * How many tokens to draft per self-speculative step.
 *
 * Fixed: always d (the paper). Adaptive (beyond the paper): draft only while speculation is measured to be faster
 * than plain full decoding, with four rules.
 *  1. Cost: the generation loop reports every step's wall time and the tokens it emitted. The policy keeps, for plain
 *     full steps (0 drafts) and for speculative steps apart, a running estimate of ms per emitted token (exponential
 *     moving averages of ms and of tokens per step, the newest step weighing COST_EMA_WEIGHT, or PROBE_WEIGHT for a
 *     probe (rule 2), whose kind's estimate is older; a step's time counts for at most MAX_STEP_MS_RATIO times its
 *     kind's mean, so that one step slowed by a GC pause or another process does not decide alone), and takes the kind
 *     whose estimate is lower. On a CPU a draft token costs E layers and the whole LM head, and the verify pass runs [0, E)
 *     once more for the last draft, so speculation pays only at high acceptance with a small E; where it does not,
 *     steps are plain full steps: the full model's output at the full model's cost. A new policy's first step
 *     speculates and its second is a plain one, so that each kind has a measurement.
 *  2. Probes: the kind not chosen is measured again by one step after FIRST_PROBE_INTERVAL steps, then after twice as
 *     many steps each time it still loses (at most MAX_PROBE_INTERVAL); the interval goes back to FIRST_PROBE_INTERVAL
 *     whenever the choice changes (a probe won, or the chosen kind became the slower one). A step that the token limit
 *     cut to 0 drafts while speculating is a plain step and counts as such a measurement.
 *  3. Confidence: a speculative step stops drafting as soon as the draft's probability of its own token falls under a
 *     threshold; a doubtful draft token is likely rejected, and every token after a rejection is wasted work.
 *  4. Recent acceptance: a speculative step's budget grows by 2 after a step whose drafts were all accepted and
 *     shrinks by 1 after one with a rejection (the schedule of transformers' "heuristic" assistant), in [1, d].
 * What the policy learns holds for one model at one (E, d, threshold), and completions are too short to learn it
 * again each time: the engine keeps its DraftPolicies across generations, which start a new policy when those change.
 */
import type { GenerationParams } from './params.js';
import type { Proposal } from './tokenChoice.js';

/** One self-speculative step as the generation loop measured it. */
export interface StepReport {
  drafted: number;
  accepted: number;
  /** Tokens the step emitted (accepted drafts + the full model's one). */
  tokens: number;
  /** Wall time of the whole step. */
  ms: number;
}

export interface DraftPolicy {
  /** Most drafts to make this step; 0 is a plain full-model step. */
  budget(): number;
  /** Whether to draft another token after this proposal. */
  keepDrafting(proposal: Proposal): boolean;
  /** Outcome of a step, for policies that learn from it. */
  record(step: StepReport): void;
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
export const COST_EMA_WEIGHT = 0.25;
export const PROBE_WEIGHT = 0.5;
export const MAX_STEP_MS_RATIO = 2;
export const FIRST_PROBE_INTERVAL = 8;
export const MAX_PROBE_INTERVAL = 64;

/** Running ms per emitted token of one kind of step (rule 1). */
class StepCost {
  private ms = 0;
  private tokens = 0;
  measured = false;

  add(ms: number, tokens: number, weight: number): void {
    if (!this.measured) {
      this.ms = ms;
      this.tokens = tokens;
      this.measured = true;
      return;
    }
    this.ms += weight * (Math.min(ms, MAX_STEP_MS_RATIO * this.ms) - this.ms);
    this.tokens += weight * (tokens - this.tokens);
  }

  msPerToken(): number {
    return this.ms / this.tokens;
  }
}

export type DraftSettings = Pick<GenerationParams, 'exitLayer' | 'draftLength' | 'draftConfidenceThreshold'>;

export class AdaptiveDraft implements DraftPolicy {
  private readonly plain = new StepCost();
  private readonly speculative = new StepCost();
  private speculating = true;
  private probeInterval = FIRST_PROBE_INTERVAL;
  private stepsSinceProbe = 0;
  private draftBudget: number;

  constructor(readonly settings: DraftSettings) {
    this.draftBudget = settings.draftLength;
  }

  budget(): number {
    const probe = this.stepsSinceProbe >= this.probeInterval;
    return this.speculating !== probe ? this.draftBudget : 0;
  }

  keepDrafting(proposal: Proposal): boolean {
    return proposal.confidence >= this.settings.draftConfidenceThreshold;
  }

  record(step: StepReport): void {
    const speculative = step.drafted > 0;
    const probe = speculative !== this.speculating;
    (speculative ? this.speculative : this.plain).add(step.ms, step.tokens, probe ? PROBE_WEIGHT : COST_EMA_WEIGHT);
    if (speculative) {
      const next = step.accepted === step.drafted ? this.draftBudget + 2 : this.draftBudget - 1;
      this.draftBudget = Math.max(1, Math.min(this.settings.draftLength, next));
    }
    const faster = this.speculationFaster();
    if (faster !== this.speculating) {
      this.speculating = faster;
      this.probeInterval = FIRST_PROBE_INTERVAL;
      this.stepsSinceProbe = 0;
    } else if (probe) {
      this.probeInterval = Math.min(MAX_PROBE_INTERVAL, 2 * this.probeInterval); // a probe that lost
      this.stepsSinceProbe = 0;
    } else {
      this.stepsSinceProbe++;
    }
  }

  private speculationFaster(): boolean {
    if (!this.speculative.measured) return true;
    if (!this.plain.measured) return false;
    return this.speculative.msPerToken() < this.plain.msPerToken();
  }
}

/**
 * The draft policies of one model, one generation after another: the adaptive policy is kept while E, d and the
 * confidence threshold stay the same (what it measured still holds), and replaced by a new one when they change.
 */
export class DraftPolicies {
  private adaptive: AdaptiveDraft | null = null;

  for(params: Pick<GenerationParams, 'mode' | 'adaptiveDraft'> & DraftSettings): DraftPolicy {
    if (params.mode !== 'self-speculative' || !params.adaptiveDraft) return new FixedDraft(params.draftLength);
    const { exitLayer, draftLength, draftConfidenceThreshold } = params;
    const kept = this.adaptive;
    if (kept !== null && kept.settings.exitLayer === exitLayer && kept.settings.draftLength === draftLength && kept.settings.draftConfidenceThreshold === draftConfidenceThreshold) {
      return kept;
    }
    this.adaptive = new AdaptiveDraft({ exitLayer, draftLength, draftConfidenceThreshold });
    return this.adaptive;
  }
}
