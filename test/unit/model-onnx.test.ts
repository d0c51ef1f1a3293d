// The ONNX package against the plain-TypeScript reference forward, for every family, dtype and exit layer.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KvCache, newKvCache } from '../../server/backend/kvCache.js';
import type { Manifest } from '../../server/model/manifest.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { OnnxBackend } from '../../server/model/onnxBackend.js';
import { head, loadReferenceModel, type ReferenceModel } from '../../server/model/referenceForward.js';
import { argmaxRows, logitsAfterLayer } from '../../server/model/backendHelpers.js';
import { ReferenceBackend } from '../../server/model/referenceBackend.js';
import { decodeRows, encodeRows, PACKAGE_DTYPES, type PackageDtype } from '../../server/model/weightEncoding.js';
import { FAMILIES, generateCheckpoint } from '../support/checkpoints.js';
import { compareLogits } from '../support/compareLogits.js';

const TOKENS = Array.from({ length: 12 }, (_, i) => (i * 37 + 11) % 250);
const backends: OnnxBackend[] = [];
after(async () => {
  for (const b of backends) await b.dispose();
});

async function convertAndLoad(
  checkpointDir: string,
  dtype: PackageDtype,
  quantizedActivations = true,
  embeddingDtype = dtype,
): Promise<OnnxBackend> {
  const out = join(mkdtempSync(join(tmpdir(), 'pkg-')), dtype);
  await convertCheckpoint(checkpointDir, out, { dtype, quantizedActivations, embeddingDtype });
  const backend = await OnnxBackend.load(out);
  backends.push(backend);
  return backend;
}

/** The model with every weight replaced by what the package stores for it (norms stay float32). */
function asStored(model: ReferenceModel, dtype: PackageDtype, embeddingDtype = dtype): ReferenceModel {
  const { hiddenSize, intermediateSize, numHeads, headDim } = model.config;
  const roundTrip = (w: Float32Array, cols: number, as = dtype): Float32Array =>
    decodeRows(encodeRows(w, cols, as), w.length / cols, cols, as);
  const embedding = roundTrip(model.weights.embedding, hiddenSize, embeddingDtype);
  return {
    config: model.config,
    weights: {
      embedding,
      finalNorm: model.weights.finalNorm,
      lmHead: model.config.tieWordEmbeddings ? embedding : roundTrip(model.weights.lmHead, hiddenSize, embeddingDtype),
      layers: model.weights.layers.map((l) => ({
        ...l,
        q_proj: roundTrip(l.q_proj, hiddenSize),
        k_proj: roundTrip(l.k_proj, hiddenSize),
        v_proj: roundTrip(l.v_proj, hiddenSize),
        o_proj: roundTrip(l.o_proj, numHeads * headDim),
        gate_proj: roundTrip(l.gate_proj, hiddenSize),
        up_proj: roundTrip(l.up_proj, hiddenSize),
        down_proj: roundTrip(l.down_proj, intermediateSize),
      })),
    },
  };
}

/**
 * Stated error bounds of each shipped dtype against the original float32 weights (max |error| / max |logit|, any
 * exit layer), from 28 random models (4 families x 7 seeds, every exit layer, 12 positions): worst seen fp16 8.1e-4,
 * int8 2.7e-2, int4 0.23 (asymmetric; the symmetric int4 it replaced: 0.29) (int8/int4 with int8 activations).
 * Random unstructured weights are the hard case for 4-bit rounding (about 7% noise per weight). `minTop1` is the
 * share of positions whose argmax must match (worst seen: fp16 100%, int8 83%, int4 42%, 84% over all positions);
 * any position whose reference margin exceeds twice the error must match.
 */
const BOUNDS: Record<PackageDtype, { relativeError: number; minTop1: number }> = {
  fp32: { relativeError: 1e-4, minTop1: 1 },
  fp16: { relativeError: 2e-3, minTop1: 1 },
  int8: { relativeError: 4e-2, minTop1: 0.75 },
  int4: { relativeError: 0.3, minTop1: 0.4 },
};

for (const family of FAMILIES) {
  void test(`${family}: every dtype matches the reference at every exit layer`, async (t) => {
    // stored as F32 so that the fp16 package differs from the checkpoint
    const checkpoint = generateCheckpoint({ family, numLayers: 3, hiddenSize: 64, dtype: 'F32', seed: 7 });
    const model = loadReferenceModel(checkpoint.dir);
    const vocab = model.config.vocabSize;
    const original = new ReferenceBackend(model);
    for (const dtype of PACKAGE_DTYPES) {
      // float activations: the package's arithmetic is exactly that of its stored (dequantized) weights
      const exactPackage = await convertAndLoad(checkpoint.dir, dtype, false);
      // the default: int8/int4 matmuls also quantize activations (onnxruntime's integer kernels)
      const product = await convertAndLoad(checkpoint.dir, dtype);
      // the reference caches keys and values as the package does (float16 unless fp32)
      const stored = new ReferenceBackend(asStored(model, dtype), exactPackage.kvCacheDtype);
      const report: string[] = [];
      for (let exit = 1; exit <= model.config.numLayers; exit++) {
        const actual = await logitsAfterLayer(exactPackage, TOKENS, exit);
        const exact = compareLogits(actual, await logitsAfterLayer(stored, TOKENS, exit), vocab);
        assert.ok(exact.relativeError <= 1e-4, `${dtype} E=${exit}: ${exact.relativeError} vs stored weights`);
        assert.equal(exact.top1Agree, exact.positions, `${dtype} E=${exit}: argmax vs stored weights`);
        // the shipped package is within the dtype's stated bound of the original model
        const drift = compareLogits(await logitsAfterLayer(product, TOKENS, exit), await logitsAfterLayer(original, TOKENS, exit), vocab);
        const bound = BOUNDS[dtype];
        assert.ok(drift.relativeError <= bound.relativeError, `${dtype} E=${exit}: ${drift.relativeError} > ${bound.relativeError}`);
        assert.equal(drift.top1ClearDisagree, 0, `${dtype} E=${exit}: argmax differs where the margin is clear`);
        assert.ok(drift.top1Agree >= bound.minTop1 * drift.positions, `${dtype} E=${exit}: top-1 ${drift.top1Agree}/12`);
        report.push(`E${exit} exact ${exact.relativeError.toExponential(1)} drift ${drift.relativeError.toExponential(1)} top1 ${drift.top1Agree}/${drift.positions}`);
      }
      t.diagnostic(`${dtype}: ${report.join(', ')}`);
    }
  });
}

void test('int4 rows whose length is not a multiple of 32: padded block sums match the reference', async () => {
  // hidden 48: q/k/v/gate/up rows end in a half block (the block biases need the x sums of the padded block)
  const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 2, hiddenSize: 48, dtype: 'F32', seed: 11 });
  const model = loadReferenceModel(checkpoint.dir);
  const onnx = await convertAndLoad(checkpoint.dir, 'int4', false);
  const stored = new ReferenceBackend(asStored(model, 'int4'), onnx.kvCacheDtype);
  const exact = compareLogits(await logitsAfterLayer(onnx, TOKENS, 2), await logitsAfterLayer(stored, TOKENS, 2), model.config.vocabSize);
  assert.ok(exact.relativeError <= 1e-4, `${exact.relativeError}`);
});

void test('int4 layers with an int8 embedding and LM head (tied and untied) match the reference on the stored weights', async () => {
  for (const family of ['llama3.2', 'llama2'] as const) {
    const checkpoint = generateCheckpoint({ family, numLayers: 2, dtype: 'F32', seed: 13 });
    const model = loadReferenceModel(checkpoint.dir);
    const onnx = await convertAndLoad(checkpoint.dir, 'int4', false, 'int8');
    assert.equal(onnx.manifest.embedding.dtype, 'int8');
    const stored = new ReferenceBackend(asStored(model, 'int4', 'int8'), onnx.kvCacheDtype);
    const exact = compareLogits(await logitsAfterLayer(onnx, TOKENS, 2), await logitsAfterLayer(stored, TOKENS, 2), model.config.vocabSize);
    assert.ok(exact.relativeError <= 1e-4, `${family}: ${exact.relativeError}`);
  }
});

void test('multi-token appends, zero-length past and rollback give the logits of a fresh run', async () => {
  const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 3, dtype: 'F32', seed: 3 });
  const onnx = await convertAndLoad(checkpoint.dir, 'fp32');
  const { numLayers, vocabSize } = onnx.config;
  const cache = newKvCache(onnx, 2);
  const step = async (tokens: number[]): Promise<Float32Array> =>
    (await onnx.forward(0, numLayers, onnx.embed(tokens), cache, { output: 'logits' })).logits!;
  await step([4, 8, 15]); // P = 0, S = 3
  await step([16]); // S = 1 on a cache
  const drafts = await step([23, 42, 99]); // a multi-token "verification" block
  const fresh = await logitsAfterLayer(onnx, [4, 8, 15, 16, 23, 42, 99], numLayers);
  assert.ok(compareLogits(drafts, fresh.subarray(4 * vocabSize), vocabSize).relativeError <= 1e-5);
  cache.truncate(5); // reject 42 and 99
  const corrected = await step([7, 1]);
  const freshCorrected = await logitsAfterLayer(onnx, [4, 8, 15, 16, 23, 7, 1], numLayers);
  assert.ok(compareLogits(corrected, freshCorrected.subarray(5 * vocabSize), vocabSize).relativeError <= 1e-5);
  // and against the oracle, through the same cache states
  const reference = await logitsAfterLayer(ReferenceBackend.fromCheckpoint(checkpoint.dir), [4, 8, 15, 16, 23, 7, 1], numLayers);
  assert.ok(compareLogits(corrected, reference.subarray(5 * vocabSize), vocabSize).relativeError <= 1e-4);
});

void test('a float32 cache on a quantized package matches the reference; a package of an older format is refused', async () => {
  const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 2, dtype: 'F32', seed: 17 });
  const model = loadReferenceModel(checkpoint.dir);
  const out = join(mkdtempSync(join(tmpdir(), 'pkg-')), 'int8-f32-cache');
  await convertCheckpoint(checkpoint.dir, out, { dtype: 'int8', quantizedActivations: false, kvCache: 'float32' });
  const manifestFile = join(out, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  assert.equal(manifest.kvCache, 'float32');
  const onnx = await OnnxBackend.load(out);
  backends.push(onnx);
  assert.equal(onnx.kvCacheDtype, 'float32');
  const stored = new ReferenceBackend(asStored(model, 'int8'), 'float32');
  const exact = compareLogits(await logitsAfterLayer(onnx, TOKENS, 2), await logitsAfterLayer(stored, TOKENS, 2), model.config.vocabSize);
  assert.ok(exact.relativeError <= 1e-4, `${exact.relativeError}`);
  await assert.rejects(onnx.forward(0, 1, onnx.embed([1]), new KvCache(2, onnx.config.numKvHeads, onnx.config.headDim, { dtype: 'float16' })), /caches float32 keys/);
  writeFileSync(manifestFile, JSON.stringify({ ...manifest, formatVersion: 4 })); // as the per-layer-graph converter wrote it
  await assert.rejects(OnnxBackend.load(out), /format 4, written by an older converter.*Convert it again/s);
});

void test('early exit then the remaining layers equals the full model (draft + verify share one cache)', async () => {
  const checkpoint = generateCheckpoint({ family: 'llama3.2', numLayers: 4, seed: 5 });
  const onnx = await convertAndLoad(checkpoint.dir, 'fp32');
  const { numLayers } = onnx.config;
  const fresh = await logitsAfterLayer(onnx, TOKENS, numLayers);
  await onnx.arrange({ exitLayer: 2, exitHead: 'draft', remainder: true });
  const cache = newKvCache(onnx);
  const exit = await onnx.forward(0, 2, onnx.embed(TOKENS), cache);
  const full = await onnx.forward(2, numLayers, exit.hidden, cache, { output: 'logits' });
  assert.ok(compareLogits(full.logits!, fresh, onnx.config.vocabSize).relativeError <= 1e-6);
  assert.deepEqual([...full.ids], [...argmaxRows(head(loadReferenceModel(checkpoint.dir), full.hidden), onnx.config.vocabSize)]);
});

void test('a GPU execution provider is used when available, else cpu with a message', async (t) => {
  const checkpoint = generateCheckpoint({ family: 'llama2', numLayers: 2, seed: 9 });
  const out = join(mkdtempSync(join(tmpdir(), 'pkg-')), 'p');
  await convertCheckpoint(checkpoint.dir, out, { dtype: 'fp32' });
  const reference = await logitsAfterLayer(ReferenceBackend.fromCheckpoint(checkpoint.dir), TOKENS, 2);
  // on the CI machines neither is usable: no CUDA provider library, no GPU adapter for WebGPU
  for (const provider of ['cuda', 'webgpu'] as const) {
    const warnings: string[] = [];
    const backend = await OnnxBackend.load(out, { executionProvider: provider, onWarning: (m) => warnings.push(m) });
    backends.push(backend);
    if (backend.executionProvider === provider) {
      t.diagnostic(`${provider} is available here: checked its logits instead of the fallback`);
      const logits = await logitsAfterLayer(backend, TOKENS, 2);
      assert.ok(compareLogits(logits, reference, backend.config.vocabSize).relativeError <= 1e-3);
      continue;
    }
    assert.equal(backend.executionProvider, 'cpu');
    assert.match(warnings.join('\n'), new RegExp(`execution provider '${provider}' is unavailable.*using 'cpu'`));
  }
});
