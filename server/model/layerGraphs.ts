// The ONNX graphs of a package (docs/model-package.md): one decoder layer per graph, plus the shared final
// norm + LM head. Attention is built from standard ops so that any S new tokens can attend to P cached ones
// (P may be 0) and the engine keeps the cache.
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
}

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

/** HF rotate_half on x [S, heads, D] with cos/sin [S, 1, D/2]. */
function rotary(g: GraphBuilder, x: string, cos: string, sin: string, headDim: number, output?: string): string {
  const half = headDim / 2;
  const axis = g.ints([2]);
  const x1 = g.op('Slice', [x, g.ints([0]), g.ints([half]), axis]);
  const x2 = g.op('Slice', [x, g.ints([half]), g.ints([headDim]), axis]);
  const out1 = g.op('Sub', [g.op('Mul', [x1, cos]), g.op('Mul', [x2, sin])]);
  const out2 = g.op('Add', [g.op('Mul', [x2, cos]), g.op('Mul', [x1, sin])]);
  return g.node('Concat', [out1, out2], { axis: 2 }, { outputs: output ? [output] : 1 })[0];
}

export function buildLayerGraph(
  config: ModelConfig,
  layer: number,
  weights: Record<LayerTensor, WeightRef>,
  options: GraphOptions,
): Uint8Array {
  const { hiddenSize, numHeads: H, numKvHeads: kvH, headDim: D, rmsNormEps: eps } = config;
  const G = H / kvH; // query heads per kv head: head h reads kv head floor(h / G)
  const g = new GraphBuilder(`layer_${layer}`, options.weightsFile);
  const name = (t: LayerTensor): string => `layers.${layer}.${t}`;
  const hidden = g.input('hidden', DataType.Float, ['S', hiddenSize]);
  const cosIn = g.input('cos', DataType.Float, ['S', D / 2]);
  const sinIn = g.input('sin', DataType.Float, ['S', D / 2]);
  // the cache is head-major: one [P, D] input per kv head, each a zero-copy prefix of the engine's buffer
  const pastKeys = Array.from({ length: kvH }, (_, h) => g.input(`past_key_${h}`, DataType.Float, ['P', D]));
  const pastValues = Array.from({ length: kvH }, (_, h) => g.input(`past_value_${h}`, DataType.Float, ['P', D]));
  const bias = g.input('attention_bias', DataType.Float, ['S', 'S']);
  g.output('hidden_out', DataType.Float, ['S', hiddenSize]);
  g.output('key', DataType.Float, ['S', kvH, D]);
  g.output('value', DataType.Float, ['S', kvH, D]);

  const normed = rmsNorm(g, hidden, name('input_layernorm'), weights.input_layernorm, eps);
  const q = g.op('Reshape', [linear(g, options, normed, name('q_proj'), weights.q_proj), g.ints([-1, H, D])]); // [S, H, D]
  const k = g.op('Reshape', [linear(g, options, normed, name('k_proj'), weights.k_proj), g.ints([-1, kvH, D])]);
  g.node('Reshape', [linear(g, options, normed, name('v_proj'), weights.v_proj), g.ints([-1, kvH, D])], {}, { outputs: ['value'] });
  const cos = g.op('Unsqueeze', [cosIn, g.ints([1])]); // [S, 1, D/2]
  const sin = g.op('Unsqueeze', [sinIn, g.ints([1])]);
  const qRotated = rotary(g, q, cos, sin, D);
  rotary(g, k, cos, sin, D, 'key');

  // Split scores: Q.K^T against the past (FusedMatMul transB reads the cache view directly; MLAS packs it into its own
  // panels, but the graph adds no Concat or Transpose of it) and against the S new keys are computed separately and
  // only the small score rows [G*S, P+S] are concatenated. The values are concatenated (a plain copy of [P, D] per head, no transpose): probs.V must stay ONE
  // MatMul over all P+S positions, because splitting that sum changes its rounding with P, and a row's result must not
  // depend on whether the rows before it came in the same pass (test/unit/model-batch-invariance.test.ts).
  const scale = { float: 1 / Math.sqrt(D) };
  const qGrouped = g.op('Transpose', [g.op('Reshape', [qRotated, g.ints([-1, kvH, G, D])])], { perm: [1, 2, 0, 3] }); // [kvH, G, S, D]
  const qHeads = g.node('Split', [g.op('Reshape', [qGrouped, g.ints([kvH, -1, D])])], { axis: 0 }, { outputs: kvH }); // [1, G*S, D] each
  const newKeys = g.node('Split', ['key'], { axis: 1 }, { outputs: kvH }); // [S, 1, D] each
  const newValues = g.node('Split', ['value'], { axis: 1 }, { outputs: kvH });
  const contexts = qHeads.map((qHead, h) => {
    const qh = g.op('Reshape', [qHead, g.ints([-1, D])]); // [G*S, D], rows (group, new token)
    const scoresPast = g.op('FusedMatMul', [qh, pastKeys[h]], { transB: 1, alpha: scale }, 'com.microsoft'); // [G*S, P]
    // the causal mask only concerns the new rows (every new token sees the whole past): [G, S, S] + bias [S, S]
    const qGroups = g.op('Reshape', [qHead, g.ints([G, -1, D])]); // [G, S, D]
    const kNew = g.op('Reshape', [newKeys[h], g.ints([-1, D])]); // [S, D]
    const scoresNew = g.op('FusedMatMul', [qGroups, kNew], { transB: 1, alpha: scale }, 'com.microsoft');
    const maskedNew = g.op('Flatten', [g.op('Add', [scoresNew, bias])], { axis: 2 }); // [G*S, S]
    const probs = g.op('Softmax', [g.op('Concat', [scoresPast, maskedNew], { axis: 1 })], { axis: -1 }); // [G*S, P+S]
    const values = g.op('Concat', [pastValues[h], g.op('Reshape', [newValues[h], g.ints([-1, D])])], { axis: 0 }); // [P+S, D]
    return g.op('MatMul', [probs, values]); // [G*S, D]
  });
  const context = g.op('Transpose', [g.op('Reshape', [g.op('Concat', contexts, { axis: 0 }), g.ints([kvH, G, -1, D])])], {
    perm: [2, 0, 1, 3],
  }); // [S, kvH, G, D]
  const attention = g.op('Reshape', [context, g.ints([-1, H * D])]);
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
