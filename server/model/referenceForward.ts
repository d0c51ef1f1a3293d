// The Llama forward pass in plain TypeScript: slow, exact (double accumulation), readable. It is the tests' oracle
// for the ONNX package, so it reads the Hugging Face checkpoint directly and shares nothing with the converter
// except tensor names and the rotary tables.
import type { ModelConfig } from './config.js';
import { openHfCheckpoint, tensorOf } from './checkpoint.js';
import { readTensor } from './safetensors.js';
import { EMBEDDING, FINAL_NORM, LAYER_TENSORS, layerTensorName, LM_HEAD, type LayerTensor } from './tensorNames.js';

/** One decoder layer's weights, HF layout: linears [out, in], norms [hidden]. */
export type LayerWeights = Record<LayerTensor, Float32Array>;

export interface LlamaWeights {
  embedding: Float32Array; // [vocab, hidden]
  layers: LayerWeights[];
  finalNorm: Float32Array; // [hidden]
  lmHead: Float32Array; // [vocab, hidden], the embedding itself when tied
}

export interface ReferenceModel {
  config: ModelConfig;
  weights: LlamaWeights;
}

export function loadReferenceModel(checkpointDir: string): ReferenceModel {
  const checkpoint = openHfCheckpoint(checkpointDir);
  const read = (name: string): Float32Array => readTensor(tensorOf(checkpoint, name));
  const embedding = read(EMBEDDING);
  const layers = Array.from({ length: checkpoint.config.numLayers }, (_, l) => {
    const entries = LAYER_TENSORS.map((t) => [t, read(layerTensorName(l, t))] as const);
    return Object.fromEntries(entries) as LayerWeights;
  });
  return {
    config: checkpoint.config,
    weights: {
      embedding,
      layers,
      finalNorm: read(FINAL_NORM),
      lmHead: checkpoint.config.tieWordEmbeddings ? embedding : read(LM_HEAD),
    },
  };
}

/** x [rows, n] -> x / rms(x) * weight, per row (HF LlamaRMSNorm). */
export function rmsNorm(x: Float32Array, weight: Float32Array, eps: number): Float32Array {
  const n = weight.length;
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let sumSquares = 0;
    for (let i = 0; i < n; i++) sumSquares += x[r * n + i] * x[r * n + i];
    const scale = 1 / Math.sqrt(sumSquares / n + eps);
    for (let i = 0; i < n; i++) out[r * n + i] = x[r * n + i] * scale * weight[i];
  }
  return out;
}

/** x [rows, in] times w [out, in] transposed -> [rows, out]. */
export function linear(x: Float32Array, w: Float32Array, inFeatures: number): Float32Array {
  const rows = x.length / inFeatures;
  const outFeatures = w.length / inFeatures;
  const out = new Float32Array(rows * outFeatures);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = 0;
      for (let i = 0; i < inFeatures; i++) sum += x[r * inFeatures + i] * w[o * inFeatures + i];
      out[r * outFeatures + o] = sum;
    }
  }
  return out;
}

/** In place: rotates every head of x [S, heads, headDim] by the tables cos/sin [S, headDim/2] (rotate_half). */
function applyRotary(x: Float32Array, heads: number, headDim: number, cos: Float32Array, sin: Float32Array): void {
  const half = headDim / 2;
  const rows = x.length / (heads * headDim);
  for (let s = 0; s < rows; s++) {
    for (let h = 0; h < heads; h++) {
      const base = (s * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const x1 = x[base + i];
        const x2 = x[base + half + i];
        const c = cos[s * half + i];
        const n = sin[s * half + i];
        x[base + i] = x1 * c - x2 * n;
        x[base + half + i] = x2 * c + x1 * n;
      }
    }
  }
}

export interface LayerOutput {
  hidden: Float32Array; // [S, hidden]
  key: Float32Array; // [S, kvHeads, headDim], after rotary
  value: Float32Array; // [S, kvHeads, headDim]
}

/**
 * One decoder layer over S new tokens whose positions follow the P cached ones.
 * pastKeys/pastValues: [P, kvHeads, headDim] (position-major, as the cache holds them); cos/sin: [S, headDim/2]
 * for the new positions.
 * cached: the precision of the cache, applied to the new keys and values before attention reads them (a package
 * appends them to its cache first, so the tokens see their own keys as cached).
 */
export function decoderLayer(
  config: ModelConfig,
  w: LayerWeights,
  hidden: Float32Array,
  pastKeys: Float32Array,
  pastValues: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  cached: (rows: Float32Array) => Float32Array = (rows) => rows,
): LayerOutput {
  const { hiddenSize, numHeads, numKvHeads, headDim, rmsNormEps } = config;
  const S = hidden.length / hiddenSize;
  const kvRow = numKvHeads * headDim;
  const P = pastKeys.length / kvRow;
  const normed = rmsNorm(hidden, w.input_layernorm, rmsNormEps);
  const q = linear(normed, w.q_proj, hiddenSize); // [S, numHeads, headDim]
  const rotated = linear(normed, w.k_proj, hiddenSize); // [S, kvHeads, headDim]
  applyRotary(q, numHeads, headDim, cos, sin);
  applyRotary(rotated, numKvHeads, headDim, cos, sin);
  const key = cached(rotated);
  const value = cached(linear(normed, w.v_proj, hiddenSize));

  const keyAt = (t: number, kvHead: number, i: number): number =>
    t < P ? pastKeys[t * kvRow + kvHead * headDim + i] : key[(t - P) * kvRow + kvHead * headDim + i];
  const valueAt = (t: number, kvHead: number, i: number): number =>
    t < P ? pastValues[t * kvRow + kvHead * headDim + i] : value[(t - P) * kvRow + kvHead * headDim + i];

  const groupSize = numHeads / numKvHeads; // GQA: query head h reads kv head floor(h / groupSize)
  const attention = new Float32Array(S * numHeads * headDim);
  const scores = new Float64Array(P + S);
  for (let s = 0; s < S; s++) {
    const visible = P + s + 1; // causal: position P+s sees keys 0..P+s
    for (let h = 0; h < numHeads; h++) {
      const kvHead = Math.floor(h / groupSize);
      const qBase = (s * numHeads + h) * headDim;
      let max = -Infinity;
      for (let t = 0; t < visible; t++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += q[qBase + i] * keyAt(t, kvHead, i);
        scores[t] = dot / Math.sqrt(headDim);
        max = Math.max(max, scores[t]);
      }
      let total = 0;
      for (let t = 0; t < visible; t++) total += scores[t] = Math.exp(scores[t] - max);
      for (let i = 0; i < headDim; i++) {
        let sum = 0;
        for (let t = 0; t < visible; t++) sum += scores[t] * valueAt(t, kvHead, i);
        attention[qBase + i] = sum / total;
      }
    }
  }
  const afterAttention = add(hidden, linear(attention, w.o_proj, numHeads * headDim));

  const normed2 = rmsNorm(afterAttention, w.post_attention_layernorm, rmsNormEps);
  const gate = linear(normed2, w.gate_proj, hiddenSize);
  const up = linear(normed2, w.up_proj, hiddenSize);
  for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i]; // silu(gate) * up
  const out = add(afterAttention, linear(gate, w.down_proj, config.intermediateSize));
  return { hidden: out, key, value };
}

function add(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Final RMSNorm + LM head: [S, hidden] -> [S, vocab]. */
export function head(model: ReferenceModel, hidden: Float32Array): Float32Array {
  const normed = rmsNorm(hidden, model.weights.finalNorm, model.config.rmsNormEps);
  return linear(normed, model.weights.lmHead, model.config.hiddenSize);
}

export function embed(model: ReferenceModel, tokens: readonly number[]): Float32Array {
  const { hiddenSize, vocabSize } = model.config;
  const out = new Float32Array(tokens.length * hiddenSize);
  tokens.forEach((token, s) => {
    if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
      throw new RangeError(`token id ${token} is outside the vocabulary [0, ${vocabSize})`);
    }
    out.set(model.weights.embedding.subarray(token * hiddenSize, (token + 1) * hiddenSize), s * hiddenSize);
  });
  return out;
}
