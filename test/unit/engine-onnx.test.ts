// The decode modes on real model packages (onnxruntime, the product path), converted from a generated checkpoint:
// full == the reference forward's naive greedy decoding; greedy self-speculative == full for every E in [1, L-1]
// and d in [1, 16] (drafts from a head over a subset of the vocabulary); early exit == the reference argmax after
// layer E. Quantized packages: self-speculative == full
// on the same package (speculation must not change the output whatever the weights are).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Engine } from '../../server/engine/engine.js';
import { loadPackageEngine } from '../../server/engine/loadPackage.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { ReferenceBackend } from '../../server/model/referenceBackend.js';
import type { PackageDtype } from '../../server/model/weightEncoding.js';
import { generateCheckpoint } from '../support/checkpoints.js';
import { naiveGreedy, randomPrompts } from './engine-fixtures.js';

const MAX_NEW = 20;
const root = mkdtempSync(join(tmpdir(), 'engine-onnx-'));
const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 5, seed: 11, quietLayers: { fromLayer: 2, scale: 0.15 }, dir: join(root, 'ckpt') });
const L = checkpoint.config.numLayers;
const prompts = randomPrompts(2, 9, 17);

// drafts come from a head over the 100 most frequent tokens, as a real package's come from the 8192 most frequent:
// the verifier, with the full head, must still decide every token
const DRAFT_VOCABULARY = 100;

async function packageEngine(dtype: PackageDtype): Promise<Engine> {
  const dir = join(root, dtype);
  const manifest = await convertCheckpoint(checkpoint.dir, dir, { dtype, draftVocabulary: DRAFT_VOCABULARY });
  assert.equal(manifest.draftHead?.ids.length, DRAFT_VOCABULARY);
  return loadPackageEngine(dir);
}

void describe('decode modes on an fp32 ONNX package', () => {
  const reference = ReferenceBackend.fromCheckpoint(checkpoint.dir);
  let engine: Engine;
  before(async () => {
    engine = await packageEngine('fp32');
  });
  after(() => engine.dispose());

  void it('full greedy equals the reference forward decoding naively', async () => {
    for (const prompt of prompts) {
      const result = await engine.generate(prompt, { mode: 'full', maxNewTokens: MAX_NEW });
      assert.deepEqual(result.tokens, await naiveGreedy(reference, prompt, L, MAX_NEW));
    }
  });

  void it('greedy self-speculative equals greedy full for every E in [1, L-1] and d in [1, 16]', async () => {
    for (const prompt of prompts) {
      const full = await engine.generate(prompt, { mode: 'full', maxNewTokens: MAX_NEW });
      for (let E = 1; E < L; E++) {
        for (let d = 1; d <= 16; d++) {
          const spec = await engine.generate(prompt, { exitLayer: E, draftLength: d, maxNewTokens: MAX_NEW });
          assert.deepEqual(spec.tokens, full.tokens, `E=${E} d=${d}`);
        }
      }
    }
  });

  void it('early exit equals the reference argmax after layer E', async () => {
    for (let E = 1; E <= L; E++) {
      const result = await engine.generate(prompts[0], { mode: 'early-exit', exitLayer: E, maxNewTokens: MAX_NEW });
      assert.deepEqual(result.tokens, await naiveGreedy(reference, prompts[0], E, MAX_NEW), `E=${E}`);
    }
  });
});

for (const dtype of ['fp16', 'int8', 'int4'] as const) {
  void it(`greedy self-speculative equals greedy full on an ${dtype} package`, async () => {
    const engine = await packageEngine(dtype);
    try {
      for (const prompt of prompts) {
        const full = await engine.generate(prompt, { mode: 'full', maxNewTokens: MAX_NEW });
        for (const [E, d] of [[1, 4], [2, 6], [3, 16], [4, 2]]) {
          const spec = await engine.generate(prompt, { exitLayer: E, draftLength: d, maxNewTokens: MAX_NEW });
          assert.deepEqual(spec.tokens, full.tokens, `E=${E} d=${d}`);
        }
      }
    } finally {
      await engine.dispose();
    }
  });
}
