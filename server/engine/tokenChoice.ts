/**
 * How tokens are chosen from hidden states, greedy or sampled: one draft proposal at a time, and the acceptance
 * of a verified draft (longest matching prefix + one full-model token; or speculative sampling).
 * The decode loop (decode.ts) is the same for both; only this policy differs.
 */
import type { LayerBackend } from './backend.js';
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

export interface TokenChooser {
  /** One draft token from the state leaving the exit layer (hidden: [1, hidden]). */
  propose(hidden: Float32Array): Promise<Proposal>;
  /** Target rows ([d+1, hidden], row i predicts the token after draft i) against the d proposals. */
  verify(hidden: Float32Array, proposals: readonly Proposal[]): Promise<Verdict>;
  /** One token from [1, hidden], restricted to `allowed` (token healing). */
  chooseAmong(hidden: Float32Array, allowed: readonly number[]): Promise<number>;
}

export class GreedyChooser implements TokenChooser {
  constructor(
    private readonly backend: LayerBackend,
    private readonly clock: StageClock,
    /** The adaptive draft needs the draft's confidence, which costs fetching the logits instead of the ids. */
    private readonly measureConfidence: boolean,
  ) {}

  async propose(hidden: Float32Array): Promise<Proposal> {
    return this.clock.time('head', async () => {
      if (!this.measureConfidence) return { token: (await this.backend.argmax(hidden))[0], confidence: 1, probs: null };
      const logits = await this.backend.logits(hidden);
      const token = argmax(logits);
      return { token, confidence: softmaxProbabilityOf(logits, token), probs: null };
    });
  }

  async verify(hidden: Float32Array, proposals: readonly Proposal[]): Promise<Verdict> {
    const targets = await this.clock.time('head', () => this.backend.argmax(hidden)); // [d+1]
    let k = 0;
    while (k < proposals.length && proposals[k].token === targets[k]) k++;
    return { tokens: [...proposals.slice(0, k).map((p) => p.token), targets[k]], acceptedDrafts: k };
  }

  async chooseAmong(hidden: Float32Array, allowed: readonly number[]): Promise<number> {
    const logits = await this.clock.time('head', () => this.backend.logits(hidden));
    return allowed.reduce((best, token) => (logits[token] > logits[best] ? token : best));
  }
}

export class SamplingChooser implements TokenChooser {
  constructor(
    private readonly backend: LayerBackend,
    private readonly clock: StageClock,
    private readonly params: SamplingParams,
    private readonly random: () => number,
  ) {}

  async propose(hidden: Float32Array): Promise<Proposal> {
    return this.clock.time('head', async () => {
      const probs = filteredDistribution(await this.backend.logits(hidden), this.params); // q
      const token = sampleFrom(probs, this.random);
      return { token, confidence: probs[token], probs };
    });
  }

  async verify(hidden: Float32Array, proposals: readonly Proposal[]): Promise<Verdict> {
    return this.clock.time('head', async () => {
      const logits = await this.backend.logits(hidden); // [d+1, vocab]
      const vocab = this.backend.config.vocabSize;
      const target = (row: number): Float64Array =>
        filteredDistribution(logits.subarray(row * vocab, (row + 1) * vocab), this.params); // p
      const tokens: number[] = [];
      for (const [i, proposal] of proposals.entries()) {
        const outcome = speculativeAccept(proposal.token, proposal.probs ?? oneHot(proposal.token, vocab), target(i), this.random);
        tokens.push(outcome.token);
        if (!outcome.accepted) return { tokens, acceptedDrafts: i };
      }
      tokens.push(sampleFrom(target(proposals.length), this.random)); // every draft accepted: a bonus token from p
      return { tokens, acceptedDrafts: proposals.length };
    });
  }

  async chooseAmong(hidden: Float32Array, allowed: readonly number[]): Promise<number> {
    return this.clock.time('head', async () => {
      const logits = await this.backend.logits(hidden);
      const masked = new Float32Array(logits.length).fill(-Infinity);
      for (const token of allowed) masked[token] = logits[token];
      return sampleFrom(filteredDistribution(masked, this.params), this.random);
    });
  }
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
