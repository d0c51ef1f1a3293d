// The ONNX graphs of a package (docs/model-package.md): two graphs per decoder layer (q/k/v, then attention + MLP,
// with the engine appending the new keys and values to its cache in between), plus the shared final norm + LM head.
// Attention is built from standard ops so that any S new tokens can attend to P cached ones (P may be 0).
import type { KvCacheDtype } from '../engine/kvCache.js';
import type { ModelConfig } from './config.js';
import { DataType, GraphBuilder } from './onnxGraph.js';
import type { LayerTensor } from './tensorNames.js';
import { BLOCK_SIZE, blocksPerRow } from './weightEncoding.js';

/** Where a tensor [rows, cols] (HF layout; norms are [1, cols]) lives in weights.bin and how it is stored. */
export type WeightRef =
  | { kind: 'dense'; dataType: DataType.Float | DataType.Float16; rows: number; cols: number; offset: number; length: number }
  | {
      kind: 'nbits';
      bits: 4 | 8;
      rows: number;
      cols: number;
      offset: number;
      length: number;
      /** float32 [rows * blocks] */
      scales: Region;
      /** float32 [rows, blocks], asymmetric (int4) only: added to every weight of the block */
      biases: Region | null;
    };

export interface Region {
  offset: number;
  length: number;
}

export interface GraphOptions {
  /** Name of the weights file the initializers point into. */
  weightsFile: string;
  /**
   * int8/int4 packages: 'int8' lets MatMulNBits quantize activations per block (accuracy_level 4), which selects
   * onnxruntime's integer kernels (int8 weights ~40x faster on CPU); 'fp32' dequantizes weights instead (level 0).
   */
  quantizedActivations: boolean;
  /** The engine's cache dtype: the q/k/v graph returns keys and values in it, attention reads them in it. */
  kvCache: KvCacheDtype;
}

const KV_DATA_TYPE: Record<KvCacheDtype, DataType> = { float32: DataType.Float, float16: DataType.Float16 };

const ACCURACY_LEVEL = { fp32Activations: 0, int8Activations: 4 };

/** x [S, cols] times ref [rows, cols] transposed -> [S, rows]. */
function linear(g: GraphBuilder, options: GraphOptions, x: string, name: string, ref: WeightRef, output?: string): string {
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

// q/k/v and gate/up read the same x: its block sums are computed once per graph
const blockSumsCache = new WeakMap<GraphBuilder, Map<string, string>>();

/** x [S, cols] -> [S, blocks]: sums over each block of 32 columns (zero-padded past cols). */
function blockSums(g: GraphBuilder, x: string, cols: number): string {
  const cache = blockSumsCache.get(g) ?? new Map<string, string>();
  blockSumsCache.set(g, cache);
  const cached = cache.get(x);
  if (cached) return cached;
  const blocks = blocksPerRow(cols);
  const padding = blocks * BLOCK_SIZE - cols;
  const padded = padding === 0 ? x : g.op('Pad', [x, g.ints([0, 0, 0, padding])]);
  const sums = g.op('ReduceSum', [g.op('Reshape', [padded, g.ints([-1, blocks, BLOCK_SIZE])]), g.ints([2])], { keepdims: 0 });
  cache.set(x, sums);
  return sums;
}

function rmsNorm(g: GraphBuilder, x: string, name: string, ref: WeightRef, eps: number): string {
  if (ref.kind !== 'dense' || ref.dataType !== DataType.Float) throw new Error(`norm ${name} must be float32`);
  const w = g.external(name, { dataType: DataType.Float, dims: [ref.cols], offset: ref.offset, length: ref.length });
  return g.op('SimplifiedLayerNormalization', [x, w], { axis: -1, epsilon: { float: eps }, stash_type: 1 });
}

/** What both halves of a decoder layer start from: the builder, the layer's tensor names, the `hidden` input. */
function layerGraphStart(config: ModelConfig, graphName: string, layer: number, options: GraphOptions) {
  const g = new GraphBuilder(graphName, options.weightsFile);
  const name = (t: LayerTensor): string => `layers.${layer}.${t}`;
  const hidden = g.input('hidden', DataType.Float, ['S', config.hiddenSize]);
  return { g, name, hidden };
}

/**
 * First half of a decoder layer: RMSNorm -> q/k/v projections -> rotary on q and k. The engine writes key and value
 * into its cache before the second half runs, so attention reads the cache as is (no concatenation of past and new).
 */
export function buildQkvGraph(
  config: ModelConfig,
  layer: number,
  weights: Record<LayerTensor, WeightRef>,
  options: GraphOptions,
): Uint8Array {
  const { numHeads: H, numKvHeads: kvH, headDim: D, rmsNormEps: eps } = config;
  const { g, name, hidden } = layerGraphStart(config, `layer_${layer}_qkv`, layer, options);
  const cosIn = g.input('cos', DataType.Float, ['S', D]);
  const sinIn = g.input('sin', DataType.Float, ['S', D]);
  g.output('query', DataType.Float, ['S', H * D]);
  const kvType = KV_DATA_TYPE[options.kvCache];
  g.output('key', kvType, ['S', kvH, D]);
  g.output('value', kvType, ['S', kvH, D]);
  const cached = (x: string, output: string): void => {
    if (kvType === DataType.Float) g.node('Identity', [x], {}, { outputs: [output] });
    else g.node('Cast', [x], { to: kvType }, { outputs: [output] });
  };

  const normed = rmsNorm(g, hidden, name('input_layernorm'), weights.input_layernorm, eps);
  // HF rotary, x * cos + rotate_half(x) * sin, with the tables over the whole head (sin's first half negated, so that
  // rotate_half is a plain swap of the halves, done as a MatMul with a permutation matrix: exact, one node). The
  // same roundings as HF's x1*cos - x2*sin and x2*cos + x1*sin.
  const cos = g.op('Unsqueeze', [cosIn, g.ints([1])]); // [S, 1, D]
  const sin = g.op('Unsqueeze', [sinIn, g.ints([1])]);
  const swap = g.floats([D, D], Array.from({ length: D * D }, (_, i) => (Math.floor(i / D) === (i % D + D / 2) % D ? 1 : 0)));
  const rotary = (x: string): string => g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [g.op('MatMul', [x, swap]), sin])]);
  const q = g.op('Reshape', [linear(g, options, normed, name('q_proj'), weights.q_proj), g.ints([-1, H, D])]); // [S, H, D]
  const k = g.op('Reshape', [linear(g, options, normed, name('k_proj'), weights.k_proj), g.ints([-1, kvH, D])]);
  g.node('Reshape', [rotary(q), g.ints([-1, H * D])], {}, { outputs: ['query'] });
  cached(rotary(k), 'key');
  cached(g.op('Reshape', [linear(g, options, normed, name('v_proj'), weights.v_proj), g.ints([-1, kvH, D])]), 'value');
  return g.encode();
}

/**
 * Second half: attention of the A query rows over the whole cache of the layer (which already holds the new rows),
 * o_proj, residual, RMSNorm, MLP, residual. Rows A..S-1 of `hidden` only pad the matmuls (see onnxBackend.ts).
 */
export function buildLayerGraph(
  config: ModelConfig,
  layer: number,
  weights: Record<LayerTensor, WeightRef>,
  options: GraphOptions,
): Uint8Array {
  const { hiddenSize, numHeads: H, numKvHeads: kvH, headDim: D, rmsNormEps: eps } = config;
  const G = H / kvH; // query heads per kv head: head h reads kv head floor(h / G)
  const { g, name, hidden } = layerGraphStart(config, `layer_${layer}`, layer, options);
  const query = g.input('query', DataType.Float, ['A', H * D]);
  // the cache is head-major: one [T, D] input per kv head, each a zero-copy prefix of the engine's buffer
  const kvType = KV_DATA_TYPE[options.kvCache];
  const cached = (input: string): string => {
    const x = g.input(input, kvType, ['T', D]);
    return kvType === DataType.Float ? x : g.op('Cast', [x], { to: DataType.Float });
  };
  const keys = Array.from({ length: kvH }, (_, h) => cached(`key_${h}`));
  const values = Array.from({ length: kvH }, (_, h) => cached(`value_${h}`));
  const bias = g.input('attention_bias', DataType.Float, ['A', 1, 'T']);
  const padding = g.input('padding', DataType.Float, ['S_minus_A', H * D]);
  g.output('hidden_out', DataType.Float, ['S', hiddenSize]);

  // One MatMul over all T cached positions for the scores and one for probs.V: a row's sums then do not depend on
  // how many rows run with it (test/unit/model-batch-invariance.test.ts); FusedMatMul transB reads the keys as they
  // are cached (MLAS packs them into its own panels, but the graph adds no copy).
  const scale = { float: 1 / Math.sqrt(D) };
  const queryHeads = g.node('Split', [query], { axis: 1 }, { outputs: kvH }); // [A, G * D] each: the G query heads of kv head h
  const contexts = queryHeads.map((qHead, h) => {
    const qh = g.op('Reshape', [qHead, g.ints([-1, G, D])]); // [A, G, D]
    const scores = g.op('FusedMatMul', [qh, keys[h]], { transB: 1, alpha: scale }, 'com.microsoft'); // [A, G, T]
    const probs = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: -1 });
    return g.op('MatMul', [probs, values[h]]); // [A, G, D]
  });
  const context = g.op('Reshape', [g.op('Concat', contexts, { axis: 1 }), g.ints([-1, H * D])]); // [A, H * D], head h*G+g
  const attention = g.op('Concat', [context, padding], { axis: 0 }); // [S, H * D]: padding rows are never read
  const afterAttention = g.op('Add', [hidden, linear(g, options, attention, name('o_proj'), weights.o_proj)]);

  const normed2 = rmsNorm(g, afterAttention, name('post_attention_layernorm'), weights.post_attention_layernorm, eps);
  const gate = linear(g, options, normed2, name('gate_proj'), weights.gate_proj);
  const up = linear(g, options, normed2, name('up_proj'), weights.up_proj);
  const activated = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]); // silu(gate) * up
  const down = linear(g, options, activated, name('down_proj'), weights.down_proj);
  g.node('Add', [afterAttention, down], {}, { outputs: ['hidden_out'] });
  return g.encode();
}

export function buildHeadGraph(config: ModelConfig, finalNorm: WeightRef, lmHead: WeightRef, options: GraphOptions): Uint8Array {
  const g = new GraphBuilder('head', options.weightsFile);
  const hidden = g.input('hidden', DataType.Float, ['S', config.hiddenSize]);
  g.output('logits', DataType.Float, ['S', config.vocabSize]);
  g.output('argmax', DataType.Int64, ['S']);
  const normed = rmsNorm(g, hidden, 'norm', finalNorm, config.rmsNormEps);
  linear(g, options, normed, 'lm_head', lmHead, 'logits');
  g.node('ArgMax', ['logits'], { axis: 1, keepdims: 0 }, { outputs: ['argmax'] });
  return g.encode();
}
