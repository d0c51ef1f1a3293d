/**
 * Token choice from logits: greedy argmax, or sampling with temperature / top-k / top-p from a seeded generator,
 * and the speculative-sampling acceptance rule (Leviathan et al. 2023, Chen et al. 2023) that makes
 * self-speculative output follow exactly the full model's (filtered) distribution.
 */

export interface SamplingParams {
  temperature: number; // > 0 (0 means greedy and never reaches this file's filter)
  topK: number; // 0 = no limit
  topP: number; // 1 = no limit
}

/** A seeded uniform generator in [0, 1) (mulberry32): reproducible runs, and one stream per generation. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest value (first one on ties, like onnx ArgMax). */
export function argmax(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

/**
 * logits row -> the distribution we sample from: softmax(logits / T), then keep the top-k tokens, then the smallest
 * set whose mass reaches top-p, renormalised. Returns probabilities over the whole vocabulary (zeros outside).
 */
export function filteredDistribution(logits: Float32Array, params: SamplingParams): Float64Array {
  const vocab = logits.length;
  const probs = new Float64Array(vocab);
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) {
    probs[i] = Math.exp((logits[i] - max) / params.temperature);
    sum += probs[i];
  }
  for (let i = 0; i < vocab; i++) probs[i] /= sum;
  const limitByK = params.topK > 0 && params.topK < vocab;
  const limitByP = params.topP < 1;
  if (!limitByK && !limitByP) return probs;

  // Only the kept candidates need sorting: at most k, and for top-p alone the tokens above a tiny floor.
  const floor = limitByK ? 0 : 1e-9;
  const candidates: number[] = [];
  for (let i = 0; i < vocab; i++) if (probs[i] > floor) candidates.push(i);
  candidates.sort((a, b) => probs[b] - probs[a] || a - b);
  let keep = limitByK ? Math.min(params.topK, candidates.length) : candidates.length;
  if (limitByP) {
    let mass = 0;
    for (let i = 0; i < keep; i++) {
      mass += probs[candidates[i]];
      if (mass >= params.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  const kept = new Float64Array(vocab);
  let keptMass = 0;
  for (let i = 0; i < keep; i++) keptMass += probs[candidates[i]];
  for (let i = 0; i < keep; i++) kept[candidates[i]] = probs[candidates[i]] / keptMass;
  return kept;
}

/** Inverse-CDF draw from a (normalised, or merely non-negative: it is rescaled) distribution. */
export function sampleFrom(probs: Float64Array, random: () => number): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  let target = random() * total;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    target -= probs[i];
    if (target < 0) return i;
  }
  return last; // rounding left a sliver of mass: the last token with any probability
}

/**
 * Speculative sampling for one drafted token x ~ q. Accept x with probability min(1, p(x) / q(x)); on rejection
 * draw the replacement from normalize(max(0, p - q)). Either way the token returned is distributed exactly as p.
 * Returns { token, accepted }.
 */
export function speculativeAccept(
  drafted: number,
  draftProbs: Float64Array, // q
  targetProbs: Float64Array, // p
  random: () => number,
): { token: number; accepted: boolean } {
  const q = draftProbs[drafted];
  const p = targetProbs[drafted];
  if (q > 0 && random() < Math.min(1, p / q)) return { token: drafted, accepted: true };
  const residual = new Float64Array(targetProbs.length);
  let mass = 0;
  for (let i = 0; i < residual.length; i++) {
    residual[i] = Math.max(0, targetProbs[i] - draftProbs[i]);
    mass += residual[i];
  }
  // mass is 0 only when p == q up to rounding, where rejection had probability ~0: p itself is then exact.
  return { token: sampleFrom(mass > 1e-12 ? residual : targetProbs, random), accepted: false };
}
