// A row's result must not depend on how many rows run with it: greedy self-speculation verifies d+1 rows in one pass
// while plain decoding runs one, so any difference can change the output. onnxruntime's int8-activation MatMulNBits
// kernel computes a single row differently from a batch (OnnxBackend pads single rows to two for that reason).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newKvCache, type KvCache } from '../../server/backend/kvCache.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { OnnxBackend } from '../../server/model/onnxBackend.js';
import type { PackageDtype } from '../../server/model/weightEncoding.js';
import { generateCheckpoint, type Family } from '../support/checkpoints.js';

const root = mkdtempSync(join(tmpdir(), 'batch-invariance-'));
const prompt = [5, 17, 42, 9, 88, 31];
const tail = [12, 64, 7, 150, 3];

/**
 * Logits of `tail` after `prompt`: the tail in one pass, or one token per pass; through all layers as one segment,
 * or split at `exitLayer` into two segments (two onnxruntime sessions, the exit hidden state passed between them).
 */
async function tailLogits(backend: OnnxBackend, oneByOne: boolean, exitLayer?: number): Promise<{ logits: Float32Array; argmax: number[] }> {
  const { numLayers, vocabSize } = backend.config;
  const split = exitLayer ?? numLayers;
  await backend.arrange({ exitLayer: split, exitHead: 'draft', remainder: true });
  const cache = newKvCache(backend);
  await backend.forward(0, numLayers, backend.embed(prompt), cache);
  const chunks = oneByOne ? tail.map((t) => [t]) : [tail];
  const logits = new Float32Array(tail.length * vocabSize);
  const argmax: number[] = [];
  let row = 0;
  for (const chunk of chunks) {
    const out = await backend.forward(0, numLayers, backend.embed(chunk), cache, { output: 'logits' });
    logits.set(out.logits!, row * vocabSize);
    argmax.push(...out.ids);
    row += chunk.length;
  }
  return { logits, argmax };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// llama3: grouped-query attention; llama2: multi-head, where attention of a lone row must keep its padding row
// (OnnxBackend.forward: MLAS multiplies a single row with another kernel)
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
      // fp32 kernels may order sums differently per batch size (float rounding); quantized ones must match exactly
      const tolerance = dtype === 'fp32' ? 1e-4 : 0;
      assert.ok(maxDifference(batched.logits, single.logits) <= tolerance, `max |batched - single| = ${maxDifference(batched.logits, single.logits)}`);
      assert.deepEqual(single.argmax, batched.argmax);
      // where the layers are split into sessions changes nothing: bit for bit, for every split
      for (const exitLayer of [1, 2]) {
        for (const oneByOne of [false, true]) {
          const split = await tailLogits(backend, oneByOne, exitLayer);
          assert.equal(maxDifference(split.logits, oneByOne ? single.logits : batched.logits), 0, `split at ${exitLayer}, one by one: ${oneByOne}`);
        }
      }
    } finally {
      await backend.dispose();
    }
  });
}

void test('int4: rows re-used from an earlier prompt give the logits of a cold run, bit for bit', async () => {
  const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 3, seed: 8, dir: join(root, 'reuse-ckpt') });
  const dir = join(root, 'reuse');
  await convertCheckpoint(checkpoint.dir, dir, { dtype: 'int4' });
  const backend = await OnnxBackend.load(dir, { intraOpNumThreads: 1 });
  try {
    const L = backend.config.numLayers;
    const tokens = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + seed) % 250);
    const earlier = tokens(100, 3);
    const next = [...earlier.slice(0, 80), ...tokens(50, 11)]; // shares 80 tokens, then differs mid-chunk
    /** Prefills `prompt` from the cache's length in chunks of 64 (as decode.ts does), then the last token's logits. */
    const logitsAfter = async (cache: KvCache, prompt: number[]): Promise<Float32Array> => {
      for (let start = cache.length(0); start < prompt.length - 1; start += 64) {
        await backend.forward(0, L, backend.embed(prompt.slice(start, Math.min(prompt.length - 1, start + 64))), cache);
      }
      return (await backend.forward(0, L, backend.embed(prompt.slice(-1)), cache, { output: 'logits' })).logits!;
    };
    const warm = newKvCache(backend);
    await logitsAfter(warm, earlier);
    warm.truncate(80);
    const reused = await logitsAfter(warm, next);
    const cold = await logitsAfter(newKvCache(backend), next);
    assert.equal(maxDifference(reused, cold), 0);
  } finally {
    await backend.dispose();
  }
});
