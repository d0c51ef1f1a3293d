// Property tests of the decode modes against the reference forward (the oracle), on small random Llamas:
// greedy self-speculation == greedy full decoding for every E in [1, L-1] and d in [1, 16]; early exit == the
// argmax after layer E; full == naive decoding without a cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { naiveGreedy, randomPrompts, referenceEngine } from './engine-fixtures.js';

const MAX_NEW = 20;

const models = [
  { name: 'random llama3 (GQA), 4 layers: drafts mostly rejected', options: { family: 'llama3', numLayers: 4, seed: 7 } },
  {
    name: 'llama3, 5 layers, layers >= 2 quiet: about half of the drafts accepted',
    options: { family: 'llama3', numLayers: 5, seed: 11, quietLayers: { fromLayer: 2, scale: 0.15 } },
  },
] as const;

for (const model of models) {
  void describe(`decode modes on ${model.name}`, async () => {
    const { engine, backend } = await referenceEngine(model.options);
    const L = backend.config.numLayers;
    const prompts = randomPrompts(2, 9, L);
    const expected = await Promise.all(prompts.map((p) => naiveGreedy(backend, p, L, MAX_NEW)));

    void it('full greedy equals naive decoding without a cache', async () => {
      for (const [i, prompt] of prompts.entries()) {
        const result = await engine.generate(prompt, { mode: 'full', maxNewTokens: MAX_NEW });
        assert.deepEqual(result.tokens, expected[i]);
        assert.equal(result.stats.drafted, 0);
      }
    });

    void it('greedy self-speculative equals greedy full for every E in [1, L-1] and d in [1, 16]', async () => {
      let accepted = 0;
      let drafted = 0;
      for (let E = 1; E < L; E++) {
        for (let d = 1; d <= 16; d++) {
          for (const [i, prompt] of prompts.entries()) {
            const result = await engine.generate(prompt, { mode: 'self-speculative', exitLayer: E, draftLength: d, maxNewTokens: MAX_NEW });
            assert.deepEqual(result.tokens, expected[i], `E=${E} d=${d} prompt ${i}`);
            assert.ok(result.stats.accepted <= result.stats.drafted);
            accepted += result.stats.accepted;
            drafted += result.stats.drafted;
          }
        }
      }
      assert.ok(drafted > 0 && accepted > 0, 'some drafts were made and accepted');
    });

    void it('adaptive drafting keeps the output identical', async () => {
      for (const [i, prompt] of prompts.entries()) {
        const result = await engine.generate(prompt, { exitLayer: 1, draftLength: 8, adaptiveDraft: true, maxNewTokens: MAX_NEW });
        assert.deepEqual(result.tokens, expected[i]);
      }
    });

    void it('early exit at E equals the argmax of the reference forward after layer E', async () => {
      for (let E = 1; E <= L; E++) {
        const prompt = prompts[E % prompts.length];
        const oracle = await naiveGreedy(backend, prompt, E, MAX_NEW);
        const result = await engine.generate(prompt, { mode: 'early-exit', exitLayer: E, maxNewTokens: MAX_NEW });
        assert.deepEqual(result.tokens, oracle, `E=${E}`);
      }
    });
  });
}

void describe('acceptance on a model whose late layers are quiet', () => {
  void it('accepts many drafts, so steps produce several tokens; the stats carry the analytic bound', async () => {
    const { engine } = await referenceEngine(models[1].options);
    const E = 3;
    const result = await engine.generate(randomPrompts(1, 9, 3)[0], { exitLayer: E, draftLength: 4, maxNewTokens: MAX_NEW });
    const { acceptanceRate, accepted, drafted, steps, generatedTokens } = result.stats;
    assert.ok(acceptanceRate > 0.4, `acceptance ${acceptanceRate}`);
    assert.ok(steps < generatedTokens, 'fewer steps than tokens');
    assert.equal(accepted + steps, generatedTokens, 'each step adds its accepted drafts and one full-model token');
    const bound = (generatedTokens / steps) / ((drafted / steps) * (E / 5) + 1);
    assert.ok(Math.abs(result.stats.analyticSpeedupBound - bound) < 1e-9);
  });
});
