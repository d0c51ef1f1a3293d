// LayerBackend over a model package (docs/model-package.md): one onnxruntime session per decoder layer plus the
// head. The only file that imports onnxruntime-node.
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { LayerBackend } from '../engine/backend.js';
import type { KvCache, KvCacheDtype, KvRows } from '../engine/kvCache.js';
import type { ModelConfig } from './config.js';
import { readManifest, type Manifest } from './manifest.js';
import { checkLayerRange, checkRows } from './backendHelpers.js';
import { inverseFrequencies, rotaryTables, swapHalvesTables } from './rope.js';
import { blocksPerRow, decodeRows, rowBytes } from './weightEncoding.js';

export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'webgpu', 'cuda'];

export interface OnnxBackendOptions {
  /** Preferred provider; falls back to 'cpu' (with a warning) when it cannot be used. Default 'cpu'. */
  executionProvider?: ExecutionProvider;
  /**
   * Threads per session (default: the machine's cores, at most 8). Sessions run one after another, so their pools
   * never compete; without spinning an idle pool costs nothing (server/bench/sessionOptions.ts).
   */
  intraOpNumThreads?: number;
  /** Keep idle pool threads spinning (default false: spinning pools of 30+ sessions starve small machines). */
  allowSpinning?: boolean;
  /** Where fallback warnings go (default stderr). */
  onWarning?: (message: string) => void;
}

export class OnnxBackend implements LayerBackend {
  readonly config: ModelConfig;
  readonly kvCacheDtype: KvCacheDtype;
  private readonly inverse: Float64Array;
  private readonly weightsFd: number;

  private constructor(
    readonly manifest: Manifest,
    /** The provider actually in use (after any fallback). */
    readonly executionProvider: ExecutionProvider,
    /** Per layer: q/k/v, then attention + MLP (docs/model-package.md). */
    private readonly qkv: ort.InferenceSession[],
    private readonly layers: ort.InferenceSession[],
    private readonly head: ort.InferenceSession,
    weightsPath: string,
  ) {
    this.config = manifest.config;
    this.kvCacheDtype = manifest.kvCache;
    this.inverse = inverseFrequencies(manifest.config);
    this.weightsFd = openSync(weightsPath, 'r');
  }

  static async load(dir: string, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const manifest = readManifest(dir);
    const warn = options.onWarning ?? ((m: string) => process.stderr.write(`${m}\n`));
    let provider = options.executionProvider ?? 'cpu';
    const sessionOptions = (ep: ExecutionProvider): ort.InferenceSession.SessionOptions => ({
      executionProviders: [ep],
      intraOpNumThreads: options.intraOpNumThreads ?? Math.min(8, availableParallelism()),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } },
    });
    const create = (file: string, ep: ExecutionProvider): Promise<ort.InferenceSession> =>
      ort.InferenceSession.create(join(dir, file), sessionOptions(ep));
    let head: ort.InferenceSession;
    try {
      head = await create(manifest.head, provider);
    } catch (error) {
      if (provider === 'cpu') throw error;
      warn(`execution provider '${provider}' is unavailable (${(error as Error).message.split('\n')[0]}); using 'cpu'`);
      provider = 'cpu';
      head = await create(manifest.head, provider);
    }
    const qkv: ort.InferenceSession[] = [];
    const layers: ort.InferenceSession[] = [];
    for (let l = 0; l < manifest.layers.length; l++) {
      qkv.push(await create(manifest.qkv[l], provider));
      layers.push(await create(manifest.layers[l], provider));
    }
    return new OnnxBackend(manifest, provider, qkv, layers, head, join(dir, manifest.weights));
  }

  /** Embedding rows read straight from weights.bin (page cache), dequantized for int8/int4. */
  embed(tokens: readonly number[]): Float32Array {
    const { hiddenSize, vocabSize } = this.config;
    const { dtype, offset, scalesOffset, biasesOffset } = this.manifest.embedding;
    const out = new Float32Array(tokens.length * hiddenSize);
    const bytes = rowBytes(hiddenSize, dtype);
    const blockBytes = blocksPerRow(hiddenSize) * 4; // one float32 per block, for scales and for biases
    const read = (at: number, length: number): Buffer => {
      const buffer = Buffer.alloc(length);
      readSync(this.weightsFd, buffer, 0, length, at);
      return buffer;
    };
    tokens.forEach((token, s) => {
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new RangeError(`token id ${token} is outside the vocabulary [0, ${vocabSize})`);
      }
      const encoded = {
        data: read(offset + token * bytes, bytes),
        scales: scalesOffset === undefined ? undefined : read(scalesOffset + token * blockBytes, blockBytes),
        biases: biasesOffset === undefined ? undefined : read(biasesOffset + token * blockBytes, blockBytes),
      };
      out.set(decodeRows(encoded, 1, hiddenSize, dtype), s * hiddenSize);
    });
    return out;
  }

  /**
   * With int8 activations (MatMulNBits accuracy_level 4) onnxruntime's CPU kernel computes one row differently from
   * several rows (measured on the default model: up to 0.55 logits apart, argmax flips), while batches of two or more
   * rows are row-independent and bit-identical. Greedy self-speculation is lossless only if a row's result does not
   * depend on how many rows run with it (verification runs d+1 rows, decoding runs 1), so a single row is run as two
   * (itself twice) and the copy is dropped.
   */
  private padded(hidden: Float32Array, rows: number): { input: Float32Array; rows: number } {
    if (rows !== 1 || this.manifest.activations !== 'int8') return { input: hidden, rows };
    const input = new Float32Array(2 * hidden.length);
    input.set(hidden);
    input.set(hidden, hidden.length);
    return { input, rows: 2 };
  }

  async runLayers(from: number, to: number, hidden: Float32Array, cache: KvCache): Promise<Float32Array> {
    checkLayerRange(this.config, from, to);
    const realRows = checkRows(this.config, hidden);
    const { hiddenSize, numHeads, numKvHeads, headDim } = this.config;
    const { input, rows } = this.padded(hidden, realRows);
    // Attention runs for the real rows only, unless that leaves a single row per kv head: MLAS multiplies one row
    // (M = 1) with another kernel than several, and a row's result must not depend on the rows run with it.
    const attentionRows = (numHeads / numKvHeads) * realRows >= 2 ? realRows : rows;
    const cacheRow = realRows * numKvHeads * headDim; // only the real rows enter the cache
    if (cache.dtype !== this.kvCacheDtype) throw new TypeError(`this package caches ${this.kvCacheDtype} keys, the cache holds ${cache.dtype}`);
    let x = input;
    // layers usually share one cache length: build the position inputs once per distinct length
    let positions: { past: number; cos: ort.Tensor; sin: ort.Tensor; bias: ort.Tensor } | undefined;
    const paddingRows = rows - attentionRows;
    const padding = new ort.Tensor('float32', new Float32Array(paddingRows * numHeads * headDim), [paddingRows, numHeads * headDim]);
    for (let layer = from; layer < to; layer++) {
      const past = cache.length(layer);
      if (positions?.past !== past) {
        const { cos, sin } = swapHalvesTables(rotaryTables(this.inverse, past, rows), headDim / 2);
        positions = {
          past,
          cos: new ort.Tensor('float32', cos, [rows, headDim]),
          sin: new ort.Tensor('float32', sin, [rows, headDim]),
          bias: new ort.Tensor('float32', causalBias(attentionRows, past, realRows), [attentionRows, 1, past + realRows]),
        };
      }
      const layerInput = new ort.Tensor('float32', x, [rows, hiddenSize]);
      const projected = await this.qkv[layer].run({ hidden: layerInput, cos: positions.cos, sin: positions.sin });
      cache.append(layer, (projected.key.data as KvRows).subarray(0, cacheRow), (projected.value.data as KvRows).subarray(0, cacheRow));
      const total = past + realRows;
      const feeds: Record<string, ort.Tensor> = {
        hidden: layerInput,
        query: new ort.Tensor('float32', (projected.query.data as Float32Array).subarray(0, attentionRows * numHeads * headDim), [
          attentionRows,
          numHeads * headDim,
        ]),
        attention_bias: positions.bias,
        padding,
      };
      for (let head = 0; head < numKvHeads; head++) {
        // zero-copy views of each kv head's cache, the new rows included
        feeds[`key_${head}`] = new ort.Tensor(cache.dtype, cache.pastKeys(layer, head), [total, headDim]);
        feeds[`value_${head}`] = new ort.Tensor(cache.dtype, cache.pastValues(layer, head), [total, headDim]);
      }
      const out = await this.layers[layer].run(feeds);
      x = out.hidden_out.data as Float32Array;
    }
    return x.subarray(0, realRows * hiddenSize);
  }

  async logits(hidden: Float32Array): Promise<Float32Array> {
    const realRows = checkRows(this.config, hidden);
    const out = await this.runHead(hidden, realRows, 'logits');
    return (out.data as Float32Array).subarray(0, realRows * this.config.vocabSize);
  }

  async argmax(hidden: Float32Array): Promise<Int32Array> {
    const realRows = checkRows(this.config, hidden);
    const out = await this.runHead(hidden, realRows, 'argmax');
    return Int32Array.from((out.data as BigInt64Array).subarray(0, realRows), (id) => Number(id));
  }

  private async runHead(hidden: Float32Array, realRows: number, output: 'logits' | 'argmax'): Promise<ort.Tensor> {
    const { input, rows } = this.padded(hidden, realRows);
    const out = await this.head.run({ hidden: new ort.Tensor('float32', input, [rows, this.config.hiddenSize]) }, [output]);
    return out[output];
  }

  async dispose(): Promise<void> {
    for (const session of [...this.qkv, ...this.layers, this.head]) await session.release();
    closeSync(this.weightsFd);
  }
}

/**
 * [A, 1, P + R], the mask of the A attention rows over the cache after the R real rows were appended: new token i
 * sees positions <= P + i (0), not the later ones (-inf); padding rows (i >= R) see everything, their result is unused.
 */
function causalBias(attentionRows: number, past: number, realRows: number): Float32Array {
  const total = past + realRows;
  const bias = new Float32Array(attentionRows * total);
  for (let i = 0; i < realRows; i++) bias.fill(-Infinity, i * total + past + i + 1, (i + 1) * total);
  return bias;
}
