/**
 * How tokens are chosen from hidden states, greedy or sampled: one draft proposal at a time, and the acceptance
 * of a verified draft (longest matching prefix + one full-model token; or speculative sampling).
 * The decode loop (decode.ts) is the same for both; only this policy differs.
 */
import type { ForwardResult, HeadRequest } from '../backend/layerBackend.js';
import { argmax, filteredDistribution, sampleFrom, speculativeAccept, type SamplingParams } from './sampling.js';
import type { StageClock } from './stats.js';

export interface Proposal {
  token: number;
  /** Draft probability of its own choice (for the adaptive draft); 1 when it was not computed. */
  confidence: number;
  /** The draft distribution q the token was drawn from (sampling only). */
  probs: Float64Array | null;
}

export interface Verdict {
  /** Accepted drafts followed by the one token of the full model (correction or bonus). */
  tokens: number[];
  acceptedDrafts: number;
}

/** What each decision needs the head to return (argmax ids are cheaper to fetch than logits). */
export interface HeadNeeds {
  propose: HeadRequest;
  verify: HeadRequest;
  among: HeadRequest;
}

/**
 * Chooses tokens from what a forward pass's head returned. The head runs inside the forward (the backend fuses it
 * with the layers), so the chooser says up front what it needs (`heads`).
 */
export interface TokenChooser {
  readonly heads: HeadNeeds;
  /** One draft token from the exit's head ([1] row). */
  propose(out: ForwardResult): Proposal;
  /** Target rows ([d+1], row i predicts the token after draft i) against the d proposals. */
  verify(out: ForwardResult, proposals: readonly Proposal[]): Verdict;
  /** One token from the full head's [1] row, restricted to `allowed` (token healing). */
  chooseAmong(out: ForwardResult, allowed: readonly number[]): number;
}

const IDS: HeadRequest = { output: 'ids' };
const LOGITS: HeadRequest = { output: 'logits' };

export class GreedyChooser implements TokenChooser {
  readonly heads: HeadNeeds;

  /** measureConfidence: the adaptive draft needs the draft's confidence, which costs fetching the logits. */
  constructor(
    private readonly clock: StageClock,
    private readonly vocabSize: number,
    measureConfidence: boolean,
  ) {
    this.heads = { propose: measureConfidence ? LOGITS : IDS, verify: IDS, among: LOGITS };
  }

  propose(out: ForwardResult): Proposal {
    const token = out.ids[0];
    if (!out.logits) return { token, confidence: 1, probs: null };
    const logits = out.logits;
    return this.clock.timeSync('head', () => ({ token, confidence: softmaxProbabilityOf(logits, argmax(logits)), probs: null }));
  }

  verify(out: ForwardResult, proposals: readonly Proposal[]): Verdict {
    const targets = out.ids; // [d+1]
    let k = 0;
    while (k < proposals.length && proposals[k].token === targets[k]) k++;
    return { tokens: [...proposals.slice(0, k).map((p) => p.token), targets[k]], acceptedDrafts: k };
  }

  chooseAmong(out: ForwardResult, allowed: readonly number[]): number {
    const logits = vocabularyLogits(out, 0, this.vocabSize);
    return allowed.reduce((best, token) => (logits[token] > logits[best] ? token : best));
  }
}

export class SamplingChooser implements TokenChooser {
  readonly heads: HeadNeeds = { propose: LOGITS, verify: LOGITS, among: LOGITS };

  constructor(
    private readonly clock: StageClock,
    private readonly vocabSize: number,
    private readonly params: SamplingParams,
    private readonly random: () => number,
  ) {}

  propose(out: ForwardResult): Proposal {
    return this.clock.timeSync('head', () => {
      // a draft head's logits cover its vocabulary only: q is 0 elsewhere, which speculative sampling allows
      const probs = filteredDistribution(vocabularyLogits(out, 0, this.vocabSize), this.params); // q
      const token = sampleFrom(probs, this.random);
      return { token, confidence: probs[token], probs };
    });
  }

  verify(out: ForwardResult, proposals: readonly Proposal[]): Verdict {
    return this.clock.timeSync('head', () => {
      const target = (row: number): Float64Array => filteredDistribution(vocabularyLogits(out, row, this.vocabSize), this.params); // p
      const tokens: number[] = [];
      for (const [i, proposal] of proposals.entries()) {
        const outcome = speculativeAccept(proposal.token, proposal.probs ?? oneHot(proposal.token, this.vocabSize), target(i), this.random);
        tokens.push(outcome.token);
        if (!outcome.accepted) return { tokens, acceptedDrafts: i };
      }
      tokens.push(sampleFrom(target(proposals.length), this.random)); // every draft accepted: a bonus token from p
      return { tokens, acceptedDrafts: proposals.length };
    });
  }

  chooseAmong(out: ForwardResult, allowed: readonly number[]): number {
    return this.clock.timeSync('head', () => {
      const logits = vocabularyLogits(out, 0, this.vocabSize);
      const masked = new Float32Array(logits.length).fill(-Infinity);
      for (const token of allowed) masked[token] = logits[token];
      return sampleFrom(filteredDistribution(masked, this.params), this.random);
    });
  }
}

/**
 * Row `row` of a head's logits over the whole vocabulary: as returned for the full head, scattered (-inf elsewhere)
 * for a draft head over a subset.
 */
function vocabularyLogits(out: ForwardResult, row: number, vocabSize: number): Float32Array {
  if (!out.logits) throw new Error('the head returned no logits (HeadNeeds asked for ids)');
  const columns = out.logitIds ? out.logitIds.length : vocabSize;
  const values = out.logits.subarray(row * columns, (row + 1) * columns);
  if (!out.logitIds) return values;
  const full = new Float32Array(vocabSize).fill(-Infinity);
  out.logitIds.forEach((id, i) => (full[id] = values[i]));
  return full;
}

function softmaxProbabilityOf(logits: Float32Array, token: number): number {
  const max = logits[token]; // token is the argmax
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return 1 / sum;
}

function oneHot(token: number, size: number): Float64Array {
  const probs = new Float64Array(size);
  probs[token] = 1;
  return probs;
}
