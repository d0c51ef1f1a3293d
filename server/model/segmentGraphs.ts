// The ONNX graph of a segment: a run of consecutive decoder layers [from, to), optionally ending in the shared final
// norm and a head (docs/model-package.md). Built in memory when a package loads or the exit layer changes, from the
// weight table of the manifest; initializers point into weights.bin. One graph runs a whole block of layers, so a
// token costs one onnxruntime call per segment, not two per layer.
//
// KV cache: each layer reads its cached keys and values as a zero-copy view ([P, kvH, D], position-major) and
// returns the S new rows, already rounded to the cache dtype, as outputs that the backend pre-allocates inside the
// cache at [P, P + S): the run itself writes the cache, and nothing of size P crosses in or out. Scores are dot
// products against past and new keys separately; probs.V reads past and new values as one [P + S] sequence (one
// Concat), so a row's sums never depend on how many rows run with it, nor on where the layers are split into segments
// (test/unit/model-batch-invariance.test.ts).
import type { KvCacheDtype } from '../backend/kvCache.js';
import type { ModelConfig } from './config.js';
import { DataType, GraphBuilder } from './onnxGraph.js';
import { BLOCK_SIZE, blocksPerRow } from './weightEncoding.js';
import type { WeightRef } from './weightsFile.js';

/** The fused tensors of one layer as the package stores them (q/k/v and gate/up are one matrix each). */
export type SegmentLayerTensor = 'input_layernorm' | 'qkv_proj' | 'o_proj' | 'post_attention_layernorm' | 'gate_up_proj' | 'down_proj';
export const SEGMENT_LAYER_TENSORS: readonly SegmentLayerTensor[] = [
  'input_layernorm',
  'qkv_proj',
  'o_proj',
  'post_attention_layernorm',
  'gate_up_proj',
  'down_proj',
];

/** The head a segment ends in: none, the full LM head, or the draft head over a subset of the vocabulary. */
export type SegmentHead = 'none' | 'full' | 'draft';

export interface SegmentWeights {
  layers: Record<SegmentLayerTensor, WeightRef>[];
  norm: WeightRef;
  lmHead: WeightRef;
  /** Rows of the LM head for the draft vocabulary (null: the draft head is the full head). */
  draftHead: WeightRef | null;
  /** Vocabulary id of each draft-head row. */
  draftIds: Int32Array | null;
}

export interface GraphOptions {
  /** Name of the weights file the initializers point into (relative to the package folder). */
  weightsFile: string;
  /** MatMulNBits accuracy_level 4 (int8 activations: onnxruntime's integer kernels) instead of 0 (float). */
  quantizedActivations: boolean;
  kvCache: KvCacheDtype;
  /**
   * 'cpu' uses com.microsoft.FusedMatMul to read the position-major cache per kv head without a transpose; other
   * execution providers (WebGPU has no FusedMatMul kernel) get a Transpose + MatMul instead.
   */
  executionProvider: 'cpu' | 'other';
}

export interface SegmentSpec {
  from: number;
  to: number;
  head: SegmentHead;
  /** Also the draft head's argmax over the head rows after every layer but the last (calibration): exit_ids. */
  everyExit?: boolean;
}

const KV_DATA_TYPE: Record<KvCacheDtype, DataType> = { float32: DataType.Float, float16: DataType.Float16 };
const ACCURACY_LEVEL = { fp32Activations: 0, int8Activations: 4 };

/** Graph input and output names (the backend's feeds and fetches). */
export const SEGMENT_IO = {
  hidden: 'hidden',
  cos: 'cos',
  sin: 'sin',
  attentionBias: 'attention_bias',
  headRows: 'head_rows',
  pastKey: (layer: number) => `past_key_${layer}`,
  pastValue: (layer: number) => `past_value_${layer}`,
  newKey: (layer: number) => `key_${layer}`,
  newValue: (layer: number) => `value_${layer}`,
  hiddenOut: 'hidden_out',
  logits: 'logits',
  ids: 'ids',
  exitIds: 'exit_ids',
} as const;

/**
 * Inputs: hidden [S, hidden]; cos, sin [S, D/2] (rotary tables of the new positions, rope.ts rotaryTables);
 * attention_bias [S, 1, P + S] (0 or -inf); head_rows int64 [R] (rows the head runs on, R may be 0); per layer
 * past_key_l, past_value_l [P, kvH, D] in the cache dtype.
 * Outputs: per layer key_l, value_l [S, kvH, D]; hidden_out [S, hidden] (the residual stream leaving layer to-1);
 * with a head, logits [R, V or K] and ids int64 [R] (vocabulary ids of the argmax); with everyExit, exit_ids int64
 * [to - from - 1, R]: row i the draft head's choice after layer from + i.
 */
export function buildSegmentGraph(config: ModelConfig, weights: SegmentWeights, spec: SegmentSpec, options: GraphOptions): Uint8Array {
  const { hiddenSize, headDim: D } = config;
  const g = new GraphBuilder(`layers_${spec.from}_${spec.to}_${spec.head}`, options.weightsFile);
  const io = SEGMENT_IO;
  let x = g.input(io.hidden, DataType.Float, ['S', hiddenSize]);
  // rotary tables of the S new positions ([S, D/2], rope.ts rotaryTables); position id 0 is their first row
  const rotary = { cos: g.input(io.cos, DataType.Float, ['S', D / 2]), sin: g.input(io.sin, DataType.Float, ['S', D / 2]), start: g.ints([0]) };
  // the mask of every query row of a kv head group, [S * G, T]: row s*G+g is query row s's
  const G = config.numHeads / config.numKvHeads;
  const bias = g.op('Flatten', [g.op('Expand', [g.input(io.attentionBias, DataType.Float, ['S', 1, 'T']), g.ints([1, G, 1])])], { axis: 2 });
  const headRows = g.input(io.headRows, DataType.Int64, ['R']);
  const usesDraftHead = spec.head === 'draft' || spec.everyExit === true;
  const draftIds = weights.draftIds === null || !usesDraftHead ? null : g.ints(Array.from(weights.draftIds));
  const exits: string[] = [];
  for (let layer = spec.from; layer < spec.to; layer++) {
    x = decoderLayer(g, config, options, layer, weights.layers[layer], x, rotary, bias);
    if (spec.everyExit && layer < spec.to - 1) {
      const ids = head(g, config, options, weights, 'draft', draftIds, g.op('Gather', [x, headRows], { axis: 0 }));
      exits.push(g.op('Unsqueeze', [ids, g.ints([0])]));
    }
  }
  g.node('Identity', [x], {}, { outputs: [io.hiddenOut] });
  g.output(io.hiddenOut, DataType.Float, ['S', hiddenSize]);
  if (spec.head !== 'none') head(g, config, options, weights, spec.head, draftIds, g.op('Gather', [x, headRows], { axis: 0 }), { logits: io.logits, ids: io.ids });
  if (exits.length > 0) {
    g.node('Concat', exits, { axis: 0 }, { outputs: [io.exitIds] });
    g.output(io.exitIds, DataType.Int64, [exits.length, 'R']);
  }
  return g.encode();
}

interface Rotary {
  cos: string;
  sin: string;
  /** int64 [1]: the position id of the tables' first row */
  start: string;
}

/** One Llama decoder layer over S rows; appends its new keys and values as outputs. */
function decoderLayer(
  g: GraphBuilder,
  config: ModelConfig,
  options: GraphOptions,
  layer: number,
  w: Record<SegmentLayerTensor, WeightRef>,
  x: string,
  rotary: Rotary,
  bias: string,
): string {
  const { numHeads: H, numKvHeads: kvH, headDim: D, rmsNormEps: eps, intermediateSize } = config;
  const name = (t: SegmentLayerTensor): string => `layers.${layer}.${t}`;
  const kvType = KV_DATA_TYPE[options.kvCache];
  const io = SEGMENT_IO;

  const normed = rmsNorm(g, x, name('input_layernorm'), w.input_layernorm, eps);
  const [q, k, v] = g.node('Split', [linear(g, options, normed, name('qkv_proj'), w.qkv_proj), g.ints([H * D, kvH * D, kvH * D])], { axis: 1 }, { outputs: 3 });
  // HF's rotate_half rotary (x1*cos - x2*sin, x2*cos + x1*sin) on [1, S, heads * D]
  const rotate = (t: string, heads: number): string =>
    g.op('RotaryEmbedding', [g.op('Unsqueeze', [t, g.ints([0])]), rotary.start, rotary.cos, rotary.sin], { num_heads: heads, interleaved: 0 }, 'com.microsoft');
  const queries = g.op('Reshape', [rotate(q, H), g.ints([-1, H, D])]); // [S, H, D]
  const toCache = (t: string, output: string): void => {
    if (kvType === DataType.Float) g.node('Identity', [t], {}, { outputs: [output] });
    else g.node('Cast', [t], { to: kvType }, { outputs: [output] });
    g.output(output, kvType, ['S', kvH, D]);
  };
  toCache(g.op('Reshape', [rotate(k, kvH), g.ints([-1, kvH, D])]), io.newKey(layer));
  toCache(g.op('Reshape', [v, g.ints([-1, kvH, D])]), io.newValue(layer));
  // keys and values as float32, the new rows rounded to the cache dtype first (as the cache will hold them)
  const asFloat = (t: string): string => (kvType === DataType.Float ? t : g.op('Cast', [t], { to: DataType.Float }));
  const pastKeys = asFloat(g.input(io.pastKey(layer), kvType, ['P', kvH, D]));
  const newKeys = asFloat(io.newKey(layer));
  // probs.V must be one sum over all P + S positions (a split sum would round differently depending on P): the
  // values as one sequence [P + S, kvH, D]
  const values = asFloat(g.op('Concat', [g.input(io.pastValue(layer), kvType, ['P', kvH, D]), io.newValue(layer)], { axis: 0 }));

  // queries grouped by kv head: [kvH, S * G, D] (head j reads kv head floor(j / G), HF's repeat_kv)
  const G = H / kvH;
  const grouped = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [queries, g.ints([-1, kvH, G, D])])], { perm: [1, 0, 2, 3] }), g.ints([kvH, -1, D])]);
  const scale = 1 / Math.sqrt(D);
  // each score is its own dot product, so past and new keys need not be one sequence: no copy of the key cache
  const scores = g.op('Concat', [batchedMatMul(g, options, grouped, pastKeys, true, scale), batchedMatMul(g, options, grouped, newKeys, true, scale)], {
    axis: -1,
  }); // [kvH, S * G, T]
  const probs = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: -1 }); // + [S * G, T]
  const context = batchedMatMul(g, options, probs, values, false, 1); // [kvH, S * G, D]
  const merged = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [context, g.ints([kvH, -1, G, D])])], { perm: [1, 0, 2, 3] }), g.ints([-1, H * D])]);
  // residual add and the MLP's norm in one node (outputs: normed, -, -, the sum)
  const postNorm = name('post_attention_layernorm');
  const [normed2, , , afterAttention] = g.node(
    'SkipSimplifiedLayerNormalization',
    [x, linear(g, options, merged, name('o_proj'), w.o_proj), normWeight(g, postNorm, w.post_attention_layernorm)],
    { epsilon: { float: eps } },
    { outputs: 4, domain: 'com.microsoft' },
  );
  const [gate, up] = g.node('Split', [linear(g, options, normed2, name('gate_up_proj'), w.gate_up_proj), g.ints([intermediateSize, intermediateSize])], { axis: 1 }, { outputs: 2 });
  const activated = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]); // silu(gate) * up
  return g.op('Add', [afterAttention, linear(g, options, activated, name('down_proj'), w.down_proj)]);
}

/**
 * a [kvH, M, D or T] times the position-major sequence b [T, kvH, D] of each kv head: transposed (scores, a.b^T)
 * or not (probs.V). FusedMatMul's transBatchB reads b per head in place; elsewhere b is transposed first.
 */
function batchedMatMul(g: GraphBuilder, options: GraphOptions, a: string, b: string, transB: boolean, alpha: number): string {
  if (options.executionProvider === 'cpu') {
    return g.op('FusedMatMul', [a, b], { transB: transB ? 1 : 0, transBatchB: 1, alpha: { float: alpha } }, 'com.microsoft');
  }
  const headMajor = g.op('Transpose', [b], { perm: transB ? [1, 2, 0] : [1, 0, 2] });
  const product = g.op('MatMul', [a, headMajor]);
  return alpha === 1 ? product : g.op('Mul', [product, g.scalar(alpha)]);
}

/**
 * Final norm + LM head (or draft head) over the selected rows -> the argmax's vocabulary ids. With `outputs`, the
 * logits and ids are graph outputs of those names; without, they stay inside the graph (calibration's exits).
 * `draftIds`: the constant table of draft-head row -> vocabulary id (null: the package has no draft head).
 */
function head(
  g: GraphBuilder,
  config: ModelConfig,
  options: GraphOptions,
  weights: SegmentWeights,
  kind: 'full' | 'draft',
  draftIds: string | null,
  rows: string,
  outputs?: { logits: string; ids: string },
): string {
  const normed = rmsNorm(g, rows, 'norm', weights.norm, config.rmsNormEps);
  const draft = kind === 'draft' && weights.draftHead !== null && draftIds !== null;
  const matrix = draft ? weights.draftHead! : weights.lmHead;
  const logits = linear(g, options, normed, draft ? 'draft_head' : 'lm_head', matrix, outputs?.logits);
  if (outputs) g.output(outputs.logits, DataType.Float, ['R', matrix.rows]);
  const best = g.op('ArgMax', [logits], { axis: 1, keepdims: 0 });
  const idsOutput = outputs ? { outputs: [outputs.ids] } : {};
  const ids = draft ? g.node('Gather', [draftIds!, best], { axis: 0 }, idsOutput)[0] : g.node('Identity', [best], {}, idsOutput)[0];
  if (outputs) g.output(outputs.ids, DataType.Int64, ['R']);
  return ids;
}

/** x [S, cols] times ref [rows, cols] transposed -> [S, rows]. */
export function linear(g: GraphBuilder, options: GraphOptions, x: string, name: string, ref: WeightRef, output?: string): string {
  const outputs = output ? [output] : 1;
  if (ref.kind === 'nbits') {
    const blocks = blocksPerRow(ref.cols);
    const blob = (BLOCK_SIZE * ref.bits) / 8;
    const b = g.external(name, { dataType: DataType.Uint8, dims: [ref.rows, blocks, blob], offset: ref.offset, length: ref.length });
    const scales = g.external(`${name}.scales`, { dataType: DataType.Float, dims: [ref.rows * blocks], ...ref.scales });
    const accuracyLevel = options.quantizedActivations ? ACCURACY_LEVEL.int8Activations : ACCURACY_LEVEL.fp32Activations;
    const attributes = { K: ref.cols, N: ref.rows, bits: ref.bits, block_size: BLOCK_SIZE, accuracy_level: accuracyLevel };
    if (!ref.biases) return g.node('MatMulNBits', [x, b, scales], attributes, { outputs, domain: 'com.microsoft' })[0];
    const product = g.node('MatMulNBits', [x, b, scales], attributes, { domain: 'com.microsoft' })[0];
    // asymmetric blocks: x . (q - 8) * scale from MatMulNBits, plus each block's bias times the sum of the x it meets
    // (a float Gemm 32x smaller than the matmul; its C input adds the product)
    const biases = g.external(`${name}.biases`, { dataType: DataType.Float, dims: [ref.rows, blocks], ...ref.biases });
    return g.node('Gemm', [blockSums(g, x, ref.cols), biases, product], { transB: 1 }, { outputs })[0];
  }
  let w = g.external(name, { dataType: ref.dataType, dims: [ref.rows, ref.cols], offset: ref.offset, length: ref.length });
  // fp16 weights: the Cast of a constant is folded when the session loads (memory fp32, disk halved)
  if (ref.dataType === DataType.Float16) w = g.op('Cast', [w], { to: DataType.Float });
  return g.node('Gemm', [x, w], { transB: 1 }, { outputs })[0];
}

/** x [S, cols] -> [S, blocks]: sums over each block of 32 columns (zero-padded past cols). */
function blockSums(g: GraphBuilder, x: string, cols: number): string {
  const blocks = blocksPerRow(cols);
  const padding = blocks * BLOCK_SIZE - cols;
  const padded = padding === 0 ? x : g.op('Pad', [x, g.ints([0, 0, 0, padding])]);
  return g.op('ReduceSum', [g.op('Reshape', [padded, g.ints([-1, blocks, BLOCK_SIZE])]), g.ints([2])], { keepdims: 0 });
}

function rmsNorm(g: GraphBuilder, x: string, name: string, ref: WeightRef, eps: number): string {
  return g.op('SimplifiedLayerNormalization', [x, normWeight(g, name, ref)], { axis: -1, epsilon: { float: eps }, stash_type: 1 });
}

function normWeight(g: GraphBuilder, name: string, ref: WeightRef): string {
  if (ref.kind !== 'dense' || ref.dataType !== DataType.Float) throw new Error(`norm ${name} must be float32`);
  return g.external(name, { dataType: DataType.Float, dims: [ref.cols], offset: ref.offset, length: ref.length });
}
