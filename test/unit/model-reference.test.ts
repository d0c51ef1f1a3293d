import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KV_CACHE_DTYPES, KvCache } from '../../server/backend/kvCache.js';
import { inverseFrequencies, rotaryTables } from '../../server/model/rope.js';
import { head, loadReferenceModel, type ReferenceModel } from '../../server/model/referenceForward.js';
import { logitsAfterLayer } from '../../server/model/backendHelpers.js';
import { ReferenceBackend } from '../../server/model/referenceBackend.js';
import { generateCheckpoint } from '../support/checkpoints.js';

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

const llama3 = generateCheckpoint({ family: 'llama3', numLayers: 3, hiddenSize: 32, numHeads: 4, numKvHeads: 2 });
const tokens = [5, 17, 200, 3, 99, 42];

for (const dtype of KV_CACHE_DTYPES) {
  void test(`appending tokens in several blocks gives the same logits as one fresh run, at every exit layer (${dtype} cache)`, async () => {
    const backend = ReferenceBackend.fromCheckpoint(llama3.dir, dtype);
    const { numLayers, numKvHeads, headDim, hiddenSize } = backend.config;
    for (let exit = 0; exit <= numLayers; exit++) {
      const fresh = await logitsAfterLayer(backend, tokens, exit);
      const cache = new KvCache(numLayers, numKvHeads, headDim, { dtype, initialCapacity: 1 }); // capacity 1: forces growth too
      const blocks = [tokens.slice(0, 3), tokens.slice(3, 4), tokens.slice(4)];
      const rows: Float32Array[] = [];
      for (const block of blocks) rows.push((await backend.forward(0, exit, backend.embed(block), cache)).hidden);
      const hidden = new Float32Array(tokens.length * hiddenSize);
      let offset = 0;
      for (const r of rows) hidden.set(r, (offset += r.length) - r.length);
      assert.ok(maxRelativeError(head(loadReferenceModel(llama3.dir), hidden), fresh) < 1e-5, `exit ${exit}`);
    }
  });
}

void test('rolling the cache back and appending other tokens equals a fresh run of the new sequence', async () => {
  const backend = ReferenceBackend.fromCheckpoint(llama3.dir);
  const { numLayers, numKvHeads, headDim } = backend.config;
  const cache = new KvCache(numLayers, numKvHeads, headDim);
  await backend.forward(0, numLayers, backend.embed([5, 17, 200, 3]), cache);
  cache.truncate(2); // reject the last two
  const last = await backend.forward(0, numLayers, backend.embed([8, 9]), cache, { output: 'logits' });
  const fresh = await logitsAfterLayer(backend, [5, 17, 8, 9], numLayers);
  const freshLast = fresh.subarray(2 * backend.config.vocabSize);
  assert.ok(maxRelativeError(last.logits!, freshLast) < 1e-5);
});

/** The same model with every kv head repeated for its query heads: an MHA model that must compute the same. */
function asMultiHead(model: ReferenceModel): ReferenceModel {
  const { numHeads, numKvHeads, headDim, hiddenSize } = model.config;
  const group = numHeads / numKvHeads;
  const repeat = (w: Float32Array): Float32Array => {
    const out = new Float32Array(numHeads * headDim * hiddenSize);
    for (let h = 0; h < numHeads; h++) {
      const kv = Math.floor(h / group);
      out.set(w.subarray(kv * headDim * hiddenSize, (kv + 1) * headDim * hiddenSize), h * headDim * hiddenSize);
    }
    return out;
  };
  return {
    config: { ...model.config, numKvHeads: numHeads },
    weights: {
      ...model.weights,
      layers: model.weights.layers.map((l) => ({ ...l, k_proj: repeat(l.k_proj), v_proj: repeat(l.v_proj) })),
    },
  };
}

void test('grouped-query attention equals multi-head attention with repeated kv heads', async () => {
  const gqa = loadReferenceModel(llama3.dir);
  const mha = asMultiHead(gqa);
  const expected = await logitsAfterLayer(new ReferenceBackend(mha), tokens, 3);
  const actual = await logitsAfterLayer(new ReferenceBackend(gqa), tokens, 3);
  assert.ok(maxRelativeError(actual, expected) < 1e-6);
});

void test('exit layer 0 is the head applied to the embeddings; a lone first token attends only to itself', async () => {
  const model = loadReferenceModel(llama3.dir);
  const backend = new ReferenceBackend(model);
  const atZero = await logitsAfterLayer(backend, [7], 0);
  assert.deepEqual(atZero, head(model, backend.embed([7])));
  // with one token, softmax over one key is 1: q_proj and k_proj cannot matter
  const scrambled: ReferenceModel = {
    ...model,
    weights: {
      ...model.weights,
      layers: model.weights.layers.map((l) => ({ ...l, q_proj: l.q_proj.map((x) => -3 * x), k_proj: l.k_proj.map((x) => x + 1) })),
    },
  };
  const a = await logitsAfterLayer(backend, [7], 3);
  const b = await logitsAfterLayer(new ReferenceBackend(scrambled), [7], 3);
  assert.ok(maxRelativeError(a, b) < 1e-6);
});

void test('llama3 rope scaling: short wavelengths kept, long ones divided by factor, tables start at angle 0', () => {
  const base = { ...llama3.config, headDim: 16, ropeTheta: 500000 };
  const plain = inverseFrequencies({ ...base, ropeScaling: null });
  const scaled = inverseFrequencies({
    ...base,
    ropeScaling: { ropeType: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
  });
  // wavelengths 2*pi*500000^(i/8) = 6.3, 32, 167, 862 (< 2048: kept), 4443 (blended), 22911.. (> 8192: / 32)
  for (let i = 0; i < 4; i++) assert.equal(scaled[i], plain[i]);
  const smooth = (8192 / 4442.882938158366 - 1) / (4 - 1);
  assert.ok(Math.abs(scaled[4] / (((1 - smooth) * plain[4]) / 32 + smooth * plain[4]) - 1) < 1e-12);
  for (let i = 5; i < 8; i++) assert.ok(Math.abs(scaled[i] / (plain[i] / 32) - 1) < 1e-12);
  const { cos, sin } = rotaryTables(plain, 0, 2);
  assert.deepEqual([...cos.subarray(0, 8)], new Array(8).fill(1));
  assert.deepEqual([...sin.subarray(0, 8)], new Array(8).fill(0));
  assert.ok(Math.abs(cos[8] - Math.cos(1)) < 1e-7 && Math.abs(sin[8] - Math.sin(1)) < 1e-7); // position 1, freq 1
});

void test('bad token ids and layer ranges are refused with clear errors', async () => {
  const backend = ReferenceBackend.fromCheckpoint(llama3.dir);
  assert.throws(() => backend.embed([backend.config.vocabSize]), /outside the vocabulary/);
  const cache = new KvCache(3, backend.config.numKvHeads, backend.config.headDim);
  await assert.rejects(backend.forward(2, 4, backend.embed([1]), cache), /layer range \[2, 4\)/);
});

void test('quietLayers: a generated model whose late layers barely matter agrees with itself at early exits', async () => {
  const quiet = generateCheckpoint({ family: 'llama3', numLayers: 4, hiddenSize: 32, quietLayers: { fromLayer: 2, scale: 0.05 } });
  const loud = generateCheckpoint({ family: 'llama3', numLayers: 4, hiddenSize: 32 });
  const many = Array.from({ length: 40 }, (_, i) => (i * 31 + 7) % 260);
  const agreement = async (dir: string, exit: number): Promise<number> => {
    const backend = ReferenceBackend.fromCheckpoint(dir);
    const vocab = backend.config.vocabSize;
    const early = await logitsAfterLayer(backend, many, exit);
    const full = await logitsAfterLayer(backend, many, 4);
    let same = 0;
    for (let p = 0; p < many.length; p++) {
      const row = (l: Float32Array): number[] => [...l.subarray(p * vocab, (p + 1) * vocab)];
      const best = (r: number[]): number => r.indexOf(Math.max(...r));
      if (best(row(early)) === best(row(full))) same++;
    }
    return same / many.length;
  };
  assert.ok((await agreement(quiet.dir, 2)) >= 0.9); // measured 40/40
  assert.ok((await agreement(loud.dir, 2)) < 0.9); // the property comes from quietLayers, not from chance
});
