// A row's result must not depend on how many rows run with it: greedy self-speculation verifies d+1 rows in one pass
// while plain decoding runs one, so any difference can change the output. onnxruntime's int8-activation MatMulNBits
// kernel computes a single row differently from a batch (OnnxBackend pads single rows to two for that reason).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newKvCache } from '../../server/engine/kvCache.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { OnnxBackend } from '../../server/model/onnxBackend.js';
import type { PackageDtype } from '../../server/model/weightEncoding.js';
import { generateCheckpoint, type Family } from '../support/checkpoints.js';

const root = mkdtempSync(join(tmpdir(), 'batch-invariance-'));
const prompt = [5, 17, 42, 9, 88, 31];
const tail = [12, 64, 7, 150, 3];

/** Logits of `tail` after `prompt`: the tail in one pass, or one token per pass. */
async function tailLogits(backend: OnnxBackend, oneByOne: boolean): Promise<{ logits: Float32Array; argmax: number[] }> {
  const { numLayers, vocabSize } = backend.config;
  const cache = newKvCache(backend);
  await backend.runLayers(0, numLayers, backend.embed(prompt), cache);
  const chunks = oneByOne ? tail.map((t) => [t]) : [tail];
  const logits = new Float32Array(tail.length * vocabSize);
  const argmax: number[] = [];
  let row = 0;
  for (const chunk of chunks) {
    const hidden = await backend.runLayers(0, numLayers, backend.embed(chunk), cache);
    logits.set(await backend.logits(hidden), row * vocabSize);
    argmax.push(...(await backend.argmax(hidden)));
    row += chunk.length;
  }
  return { logits, argmax };
}

// llama3: grouped-query attention; llama2: multi-head, where attention of a lone row must keep its padding row
// (OnnxBackend.runLayers: MLAS multiplies a single row with another kernel)
const cases: [Family, PackageDtype][] = [['llama3', 'fp32'], ['llama3', 'int8'], ['llama3', 'int4'], ['llama2', 'int4']];
for (const [family, dtype] of cases) {
  void test(`${family} ${dtype}: a row's logits are the same alone or in a batch`, async () => {
    const checkpoint = generateCheckpoint({ family, numLayers: 3, seed: 5, dir: join(root, `${family}-${dtype}-ckpt`) });
    const dir = join(root, `${family}-${dtype}`);
    await convertCheckpoint(checkpoint.dir, dir, { dtype });
    const backend = await OnnxBackend.load(dir, { intraOpNumThreads: 1 });
    try {
      const batched = await tailLogits(backend, false);
      const single = await tailLogits(backend, true);
      let worst = 0;
      for (let i = 0; i < batched.logits.length; i++) worst = Math.max(worst, Math.abs(batched.logits[i] - single.logits[i]));
      // fp32 kernels may order sums differently per batch size (float rounding); quantized ones must match exactly
      assert.ok(worst <= (dtype === 'fp32' ? 1e-4 : 0), `max |batched - single| = ${worst}`);
      assert.deepEqual(single.argmax, batched.argmax);
    } finally {
      await backend.dispose();
    }
  });
}
