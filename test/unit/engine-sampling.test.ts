// Sampling: the filters against hand-computed distributions, and the speculative-sampling guarantee checked
// statistically: the first three tokens of sampled self-speculative generations follow the full model's exact joint
// distribution (chi-square, fixed seeds), while the draft's own distribution is rejected by the same test.
import assert from 'node:assert/strict';
import type { Engine } from '../../server/engine/engine.js';
import { describe, it } from 'node:test';
import { filteredDistribution, sampleFrom, seededRandom } from '../../server/engine/sampling.js';
import type { GenerationParams } from '../../server/engine/engine.js';
import { nextTokenLogits, randomPrompts, referenceEngine } from './engine-fixtures.js';

void describe('filteredDistribution', () => {
  const logits = Float32Array.from([Math.log(4), Math.log(3), Math.log(2), Math.log(1)]); // softmax: .4 .3 .2 .1

  void it('is softmax(logits / T) without limits', () => {
    assertClose(filteredDistribution(logits, { temperature: 1, topK: 0, topP: 1 }), [0.4, 0.3, 0.2, 0.1]);
    const hot = [2, Math.sqrt(3), Math.sqrt(2), 1].map((x) => x / (3 + Math.sqrt(3) + Math.sqrt(2))); // T = 2
    assertClose(filteredDistribution(logits, { temperature: 2, topK: 0, topP: 1 }), hot);
  });

  void it('keeps the k most likely tokens, renormalised', () => {
    assertClose(filteredDistribution(logits, { temperature: 1, topK: 2, topP: 1 }), [4 / 7, 3 / 7, 0, 0]);
  });

  void it('keeps the smallest set reaching top-p, renormalised', () => {
    assertClose(filteredDistribution(logits, { temperature: 1, topK: 0, topP: 0.75 }), [4 / 9, 3 / 9, 2 / 9, 0]);
    assertClose(filteredDistribution(logits, { temperature: 1, topK: 0, topP: 0.65 }), [4 / 7, 3 / 7, 0, 0]);
  });

  void it('sampleFrom follows the distribution', () => {
    const random = seededRandom(5);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleFrom(Float64Array.from([0.4, 0.3, 0.2, 0.1]), random)]++;
    assert.ok(chiSquare(counts, [0.4, 0.3, 0.2, 0.1].map((p) => p * 20000)) < criticalChiSquare(3));
  });
});

void describe('sampled self-speculative decoding', async () => {
  const TOKENS = 3;
  const SAMPLES = 1500;
  const sampling: Partial<GenerationParams> = { temperature: 1.5, topK: 3, topP: 1, maxNewTokens: TOKENS };
  // late layers that barely matter: drafts from layer 3 are often accepted, which is what the test must exercise
  const CHECKPOINT = { family: 'llama3', numLayers: 4, seed: 3, quietLayers: { fromLayer: 3, scale: 0.2 } } as const;
  const { engine, backend } = await referenceEngine(CHECKPOINT);
  const prompt = randomPrompts(1, 6, 99)[0];
  const L = backend.config.numLayers;
  const exact = await exactJoint(prompt, L);

  /** P(t1, t2, t3) of the full model under the same filters, by enumerating every branch (EOS ends one). */
  async function exactJoint(prefix: number[], layers: number, depth = TOKENS): Promise<Map<string, number>> {
    const params = { temperature: sampling.temperature ?? 1, topK: sampling.topK ?? 0, topP: 1 };
    const probs = filteredDistribution(await nextTokenLogits(backend, prefix, layers), params);
    const joint = new Map<string, number>();
    for (const [token, p] of probs.entries()) {
      if (p === 0) continue;
      const key = backend.config.eosTokenIds.includes(token) ? 'eos' : String(token); // the generation ends there
      if (depth === 1 || key === 'eos') joint.set(key, p);
      else for (const [rest, q] of await exactJoint([...prefix, token], layers, depth - 1)) joint.set(`${token},${rest}`, p * q);
    }
    return joint;
  }

  async function statistic(params: Partial<GenerationParams>, generator: Engine = engine): Promise<{ value: number; degrees: number; accepted: number }> {
    const observed = new Map<string, number>();
    let accepted = 0;
    for (let seed = 1; seed <= SAMPLES; seed++) {
      const { tokens, stopReason, stats } = await generator.generate(prompt, { ...sampling, ...params, seed });
      accepted += stats.accepted;
      const key = [...tokens, ...(stopReason === 'eos' ? ['eos'] : [])].join(',');
      observed.set(key, (observed.get(key) ?? 0) + 1);
    }
    return { ...chiSquareAgainst(observed, exact, SAMPLES), accepted };
  }

  void it('matches the exact full-model joint distribution of the first three tokens (E=1, d=1 and d=2)', async (t) => {
    for (const draftLength of [1, 2]) {
      const { value, degrees } = await statistic({ mode: 'self-speculative', exitLayer: 1, draftLength });
      const report = `d=${draftLength}: chi2 ${value.toFixed(1)} with ${degrees} dof (0.1% point ${criticalChiSquare(degrees).toFixed(1)})`;
      t.diagnostic(report);
      assert.ok(value < criticalChiSquare(degrees), report);
    }
  });

  void it('stays exact when the draft head covers only a third of the vocabulary (q is 0 elsewhere)', async (t) => {
    // the same model, drafting from ids 0, 3, 6, ... only: proposals differ, the output distribution must not
    const third = Int32Array.from({ length: Math.ceil(backend.config.vocabSize / 3) }, (_, i) => 3 * i);
    const restricted = await referenceEngine(CHECKPOINT, third);
    const { value, degrees, accepted } = await statistic({ mode: 'self-speculative', exitLayer: 3, draftLength: 2 }, restricted.engine);
    const report = `draft head over a third: chi2 ${value.toFixed(1)} with ${degrees} dof, ${accepted} drafts accepted`;
    t.diagnostic(report);
    assert.ok(accepted > 0, 'drafts must be accepted for the test to say anything');
    assert.ok(value < criticalChiSquare(degrees), report);
  });

  void it('has the power to see a different distribution: the early exit draft fails the same test', async (t) => {
    const { value, degrees } = await statistic({ mode: 'early-exit', exitLayer: 1 });
    t.diagnostic(`early exit: chi2 ${value.toFixed(1)} with ${degrees} dof`);
    assert.ok(value > criticalChiSquare(degrees), `chi2 ${value.toFixed(1)} with ${degrees} dof`);
  });
});

/**
 * Pearson's statistic; outcomes expected fewer than 5 times are pooled into one cell. An outcome the full model gives
 * no probability at all (outside its top-k) makes the statistic infinite.
 */
function chiSquareAgainst(observed: Map<string, number>, probs: Map<string, number>, n: number): { value: number; degrees: number } {
  const counts: number[] = [];
  const expected: number[] = [];
  let pooledCount = n;
  let pooledExpected = n;
  for (const [key, p] of probs) {
    if (p * n < 5) continue;
    counts.push(observed.get(key) ?? 0);
    expected.push(p * n);
    pooledCount -= counts[counts.length - 1];
    pooledExpected -= p * n;
  }
  const impossible = [...observed.keys()].some((key) => !probs.has(key));
  if (impossible) return { value: Infinity, degrees: counts.length };
  if (pooledExpected > 1e-6) {
    counts.push(pooledCount);
    expected.push(pooledExpected);
  }
  return { value: chiSquare(counts, expected), degrees: counts.length - 1 };
}

function chiSquare(counts: number[], expected: number[]): number {
  return counts.reduce((sum, count, i) => sum + (count - expected[i]) ** 2 / expected[i], 0);
}

/** Upper 0.1% point of chi-square (Wilson-Hilferty approximation): a false alarm once in a thousand seeds sets. */
function criticalChiSquare(degrees: number): number {
  const z = 3.09;
  const a = 2 / (9 * degrees);
  return degrees * (1 - a + z * Math.sqrt(a)) ** 3;
}

function assertClose(actual: Float64Array, expected: number[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) < 1e-6, `[${i}] ${actual[i]} != ${expected[i]}`);
}
