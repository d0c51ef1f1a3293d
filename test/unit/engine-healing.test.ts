// Token healing against a naive oracle: every step recomputes the logits from scratch and picks the best token whose
// text still agrees with the healed text (found by decoding each token on its own), then decodes greedily. The
// engine must produce the same tokens in every mode, with the healed text left out of its output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LayerBackend } from '../../server/backend/layerBackend.js';
import type { DecodingMode } from '../../server/engine/engine.js';
import type { TextCodec } from '../../server/engine/tokenizer.js';
import { naiveGreedy, nextTokenLogits, randomPrompts, referenceEngine } from './engine-fixtures.js';

async function naiveHealedGreedy(
  backend: LayerBackend,
  codec: TextCodec,
  prompt: readonly number[],
  healedText: string,
  exitLayer: number,
  maxNewTokens: number,
): Promise<number[]> {
  const tokens = [...prompt];
  let remaining = healedText;
  while (remaining !== '' && tokens.length - prompt.length < maxNewTokens) {
    const logits = await nextTokenLogits(backend, tokens, exitLayer);
    let best = -1;
    for (let v = 0; v < logits.length; v++) {
      const text = codec.decode([v]);
      const spells = text !== '' && !text.includes('\uFFFD') && (text.startsWith(remaining) || remaining.startsWith(text));
      if (spells && (best === -1 || logits[v] > logits[best])) best = v;
    }
    tokens.push(best);
    remaining = remaining.slice(Math.min(remaining.length, codec.decode([best]).length));
  }
  const rest = await naiveGreedy(backend, tokens, exitLayer, maxNewTokens - (tokens.length - prompt.length));
  return [...tokens.slice(prompt.length), ...rest];
}

void describe('token healing', async () => {
  const { engine, backend, codec } = await referenceEngine({ family: 'llama3', numLayers: 4, seed: 33, quietLayers: { fromLayer: 2, scale: 0.1 } });
  const L = backend.config.numLayers;
  const prompts = randomPrompts(3, 10, 17);
  // spelled by several tokenizations with the test vocabulary's merges ("  ", "ret", "return", "de", "def", ...)
  const healedTexts = ['  ret', 'def f', 'x'];

  void it('greedy healed output equals the naive oracle in full, self-speculative (every E, several d) and early-exit modes', async () => {
    for (const [i, prompt] of prompts.entries()) {
      const healedText = healedTexts[i];
      const expected = await naiveHealedGreedy(backend, codec, prompt, healedText, L, 12);
      assert.ok(codec.decode(expected).startsWith(healedText), 'the oracle spells the healed text');
      const runs: { mode: DecodingMode; exitLayer?: number; draftLength?: number }[] = [{ mode: 'full' }];
      for (let E = 1; E < L; E++) for (const d of [1, 3, 6]) runs.push({ mode: 'self-speculative', exitLayer: E, draftLength: d });
      for (const run of runs) {
        const result = await engine.generate(prompt, { ...run, healedText, maxNewTokens: 12 });
        assert.deepEqual(result.tokens, expected, `${run.mode} E=${run.exitLayer} d=${run.draftLength}`);
        assert.equal(result.text, codec.decode(expected).slice(healedText.length), 'the healed text is not output');
      }
      const early = await engine.generate(prompt, { mode: 'early-exit', exitLayer: 2, healedText, maxNewTokens: 12 });
      assert.deepEqual(early.tokens, await naiveHealedGreedy(backend, codec, prompt, healedText, 2, 12));
    }
  });

  void it('sampled generations spell the healed text too', async () => {
    for (const seed of [1, 2, 3]) {
      const result = await engine.generate(prompts[0], { healedText: '  ret', temperature: 1, seed, maxNewTokens: 8, exitLayer: 2, draftLength: 3 });
      assert.ok(codec.decode(result.tokens).startsWith('  ret'), `seed ${seed}: ${JSON.stringify(codec.decode(result.tokens))}`);
    }
  });

  void it('stop strings are searched after the healed text only', async () => {
    const plain = await engine.generate(prompts[1], { healedText: 'def f', maxNewTokens: 6 });
    const stopped = await engine.generate(prompts[1], { healedText: 'def f', stopStrings: ['f'], maxNewTokens: 6 });
    assert.ok(plain.text.length > 0);
    assert.equal(stopped.text, plain.text.split('f')[0], "the healed text's own 'f' does not stop the generation");
  });
});
