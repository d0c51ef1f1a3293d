// LayerBackend over a model package (docs/model-package.md): one onnxruntime session per segment of layers (the
// plan's [0, E) and [E, L), each ending in its head), built in memory from the package's weight table. The only file
// that imports onnxruntime-node.
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { planFor, type ForwardResult, type HeadRequest, type LayerBackend, type LayerPlan } from '../backend/layerBackend.js';
import { KvCache, type KvCacheDtype, type KvRows as KvCacheRows } from '../backend/kvCache.js';
import { checkLayerRange, checkRows } from './backendHelpers.js';
import type { ModelConfig } from './config.js';
import { layerWeightName, readManifest, type Manifest } from './manifest.js';
import { inverseFrequencies, rotaryTables } from './rope.js';
import { buildSegmentGraph, SEGMENT_IO, SEGMENT_LAYER_TENSORS, type SegmentSpec, type SegmentWeights } from './segmentGraphs.js';
import { blocksPerRow, decodeRows, rowBytes } from './weightEncoding.js';

export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'webgpu', 'cuda'];

export interface OnnxBackendOptions {
  /** Preferred provider; falls back to 'cpu' (with a warning) when it cannot be used. Default 'cpu'. */
  executionProvider?: ExecutionProvider;
  /** Threads per session (default: the machine's cores, at most 8). Segments run one after another. */
  intraOpNumThreads?: number;
  /** Let pool threads spin while a run is in progress (default true; they always stop when it ends). */
  allowSpinning?: boolean;
  /**
   * The plan to build first (default: self-speculation at the package's recommended exit layer, the engine's default
   * mode, so that the first completion does not rebuild the sessions).
   */
  plan?: LayerPlan;
  /** Where fallback warnings go (default stderr). */
  onWarning?: (message: string) => void;
}

interface Segment {
  spec: SegmentSpec;
  session: ort.InferenceSession;
}

export class OnnxBackend implements LayerBackend {
  readonly config: ModelConfig;
  readonly kvCacheDtype: KvCacheDtype;
  /** Milliseconds the last arrange() spent building sessions (0 when the plan was unchanged). */
  lastArrangeMs = 0;
  private readonly inverse: Float64Array;
  private readonly weightsFd: number;
  private readonly weights: SegmentWeights;
  private segments: Segment[] = [];
  private plan: LayerPlan | null = null;
  /** Whether a lone row runs as two (see forward); decided by measuring the arranged sessions. */
  private padSingleRows = true;
  private zeros: KvCacheRows | null = null;

  private constructor(
    readonly manifest: Manifest,
    private readonly dir: string,
    /** The provider actually in use (after any fallback). */
    public executionProvider: ExecutionProvider,
    private readonly options: OnnxBackendOptions,
  ) {
    this.config = manifest.config;
    this.kvCacheDtype = manifest.kvCache;
    this.inverse = inverseFrequencies(manifest.config);
    this.weightsFd = openSync(join(dir, manifest.weights), 'r');
    const t = manifest.tensors;
    this.weights = {
      layers: Array.from({ length: manifest.config.numLayers }, (_, l) =>
        Object.fromEntries(SEGMENT_LAYER_TENSORS.map((name) => [name, t[layerWeightName(l, name)]])) as SegmentWeights['layers'][number],
      ),
      norm: t.norm,
      lmHead: t.lm_head,
      draftHead: manifest.draftHead ? t.draft_head : null,
      draftIds: manifest.draftHead ? Int32Array.from(manifest.draftHead.ids) : null,
    };
  }

  static async load(dir: string, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const manifest = readManifest(dir);
    const backend = new OnnxBackend(manifest, dir, options.executionProvider ?? 'cpu', options);
    try {
      const L = manifest.config.numLayers;
      await backend.arrange(options.plan ?? planFor('self-speculative', Math.min(L, manifest.layerskip.recommendedExitLayer), L));
      return backend;
    } catch (error) {
      await backend.dispose();
      throw error;
    }
  }

  /** Threads each session's operators run on. */
  get threads(): number {
    return this.options.intraOpNumThreads ?? defaultThreads();
  }

  /** The draft head's vocabulary ids (null: the draft head is the full head). */
  get draftIds(): Int32Array | null {
    return this.weights.draftIds;
  }

  async arrange(plan: LayerPlan): Promise<void> {
    const L = this.config.numLayers;
    if (!Number.isInteger(plan.exitLayer) || plan.exitLayer < 1 || plan.exitLayer > L) {
      throw new RangeError(`exit layer ${plan.exitLayer} is not in [1, ${L}]`);
    }
    const remainder = plan.remainder && plan.exitLayer < L;
    const everyExit = plan.everyExit === true;
    const current = this.plan;
    if (current && current.exitLayer === plan.exitLayer && current.exitHead === plan.exitHead && current.remainder === remainder && (current.everyExit === true) === everyExit) {
      this.lastArrangeMs = 0;
      return;
    }
    const started = performance.now();
    // the old sessions go first: a layer's weights are never held twice
    await this.releaseSessions();
    const specs: SegmentSpec[] = [{ from: 0, to: plan.exitLayer, head: plan.exitLayer === L ? 'full' : plan.exitHead, everyExit }];
    if (remainder) specs.push({ from: plan.exitLayer, to: L, head: 'full' });
    for (const spec of specs) this.segments.push({ spec, session: await this.createSession(spec) });
    this.plan = { ...plan, remainder, everyExit };
    // multi-head attention gives a lone row one query row per head (M = 1 in attention's MatMuls): always padded
    const multiHead = this.config.numHeads === this.config.numKvHeads;
    // the check itself must run a lone row as one row, or it compares a padded row with a block and always agrees;
    // a calibration pass runs blocks only, so its plan needs no check
    this.padSingleRows = false;
    this.padSingleRows = multiHead || (!everyExit && !(await this.loneRowsMatchBatches()));
    this.lastArrangeMs = performance.now() - started;
  }

  /**
   * Greedy self-speculation is lossless only if a row's result does not depend on how many rows run with it
   * (verification runs d+1 rows, decoding one). onnxruntime's CPU kernels may compute a single row (M = 1) with
   * another kernel than several: seen with int8 activations (MatMulNBits accuracy_level 4) on some machines, up to
   * 0.55 logits apart, and with multi-head attention (one query row per head). A lone row then runs as two (itself
   * twice), which costs about a row's worth of compute. Whether this machine's kernels need it is measured here,
   * on the arranged sessions: one row alone against the same row in a block of two, through every segment and head,
   * bit for bit.
   */
  private async loneRowsMatchBatches(): Promise<boolean> {
    const { numLayers, numKvHeads, headDim, vocabSize } = this.config;
    const to = this.plan!.remainder ? numLayers : this.plan!.exitLayer;
    // a context long enough that attention's sums span several of the kernels' blocks
    const context = 67;
    const tokens = Array.from({ length: context + 3 }, (_, i) => (i * 7919 + 13) % vocabSize);
    const run = async (block: number[]): Promise<ForwardResult> => {
      const cache = new KvCache(numLayers, numKvHeads, headDim, { dtype: this.kvCacheDtype, initialCapacity: tokens.length + 1 });
      await this.forward(0, to, this.embed(tokens.slice(0, context)), cache);
      return this.forward(0, to, this.embed(block), cache, { output: 'logits' });
    };
    const alone = await run([tokens[context]]);
    const batched = await run(tokens.slice(context));
    const columns = alone.logits!.length;
    const same = (a: Float32Array, b: Float32Array): boolean => a.every((value, i) => Object.is(value, b[i]));
    return same(alone.logits!, batched.logits!.subarray(0, columns)) && same(alone.hidden, batched.hidden.subarray(0, alone.hidden.length));
  }

  private async createSession(spec: SegmentSpec): Promise<ort.InferenceSession> {
    const create = (ep: ExecutionProvider): Promise<ort.InferenceSession> => {
      const graph = buildSegmentGraph(this.config, this.weights, spec, {
        weightsFile: this.manifest.weights,
        quantizedActivations: this.manifest.activations === 'int8',
        kvCache: this.kvCacheDtype,
        executionProvider: ep === 'cpu' ? 'cpu' : 'other',
      });
      return ort.InferenceSession.create(graph, {
        executionProviders: [ep],
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        // 'basic': no fusions across layers, so a layer computes the same bits whichever segment it is in
        graphOptimizationLevel: 'basic',
        extra: {
          session: {
            // spinning pool threads wake in microseconds instead of a futex round trip per parallel op (2 threads: 13
            // -> 10.5 ms a token); they stop when a run ends, so the other segment's run and an idle editor pay nothing
            intra_op: { allow_spinning: this.options.allowSpinning === false ? '0' : '1' },
            force_spinning_stop: '1',
            model_external_initializers_file_folder_path: this.dir,
          },
        },
      });
    };
    try {
      return await create(this.executionProvider);
    } catch (error) {
      if (this.executionProvider === 'cpu') throw error;
      const warn = this.options.onWarning ?? ((m: string) => process.stderr.write(`${m}\n`));
      warn(`execution provider '${this.executionProvider}' is unavailable (${(error as Error).message.split('\n')[0]}); using 'cpu'`);
      this.executionProvider = 'cpu';
      return create('cpu');
    }
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

  async forward(from: number, to: number, hidden: Float32Array, cache: KvCache, head?: HeadRequest): Promise<ForwardResult> {
    checkLayerRange(this.config, from, to);
    const realRows = checkRows(this.config, hidden);
    if (cache.dtype !== this.kvCacheDtype) throw new TypeError(`this package caches ${this.kvCacheDtype} keys, the cache holds ${cache.dtype}`);
    const chain = this.segmentsCovering(from, to);
    // where this machine's kernels compute a lone row differently from a block (loneRowsMatchBatches), it runs as two
    const rows = realRows === 1 && this.padSingleRows ? 2 : realRows;
    let x = hidden;
    if (rows !== realRows) {
      x = new Float32Array(rows * this.config.hiddenSize);
      x.set(hidden);
      x.set(hidden, hidden.length);
    }
    let outputs: ort.InferenceSession.OnnxValueMapType = {};
    for (const [i, segment] of chain.entries()) {
      const last = i === chain.length - 1;
      outputs = await this.runSegment(segment, x, rows, realRows, cache, last ? head : undefined);
      x = outputs[SEGMENT_IO.hiddenOut].data as Float32Array;
    }
    const ids = head ? Int32Array.from((outputs[SEGMENT_IO.ids].data as BigInt64Array).subarray(0, realRows), (id) => Number(id)) : new Int32Array(0);
    const logitsTensor = head?.output === 'logits' ? outputs[SEGMENT_IO.logits] : undefined;
    const columns = logitsTensor ? logitsTensor.dims[1] : 0;
    const lastHead = chain[chain.length - 1].spec.head;
    const exitTensor = head && from === 0 ? outputs[SEGMENT_IO.exitIds] : undefined;
    return {
      hidden: x.subarray(0, realRows * this.config.hiddenSize),
      ids,
      logits: logitsTensor ? (logitsTensor.data as Float32Array).subarray(0, realRows * columns) : null,
      logitIds: lastHead === 'draft' ? this.weights.draftIds : null,
      exitIds: exitTensor ? exitRows(exitTensor.data as BigInt64Array, exitTensor.dims[1], realRows) : null,
    };
  }

  /** One onnxruntime call: a segment's layers over `rows` rows, the new keys and values written into the cache. */
  private async runSegment(
    segment: Segment,
    x: Float32Array,
    rows: number,
    realRows: number,
    cache: KvCache,
    head: HeadRequest | undefined,
  ): Promise<ort.InferenceSession.OnnxValueMapType> {
    const { from, to } = segment.spec;
    const { hiddenSize, numKvHeads, headDim } = this.config;
    const past = cache.length(from);
    for (let l = from + 1; l < to; l++) {
      if (cache.length(l) !== past) throw new Error(`layers ${from} and ${l} hold ${past} and ${cache.length(l)} positions: a segment must agree`);
    }
    // room for the new rows in every layer first: growing the cache inside the loop below would move the buffers
    // that earlier layers' views (feeds, pre-allocated outputs) point into
    cache.reserve(past + rows);
    const { cos, sin } = rotaryTables(this.inverse, past, rows);
    // onnxruntime's CPU MatMul fails on an empty past (no keys to score): a fresh cache is fed one zero row instead,
    // masked out (its probability is exactly 0, its value row 0), so it changes no sum
    const placeholder = past === 0 ? 1 : 0;
    const headRows = head ? (realRows === 1 && rows === 2 ? [0, 0] : Array.from({ length: realRows }, (_, r) => r)) : [];
    const io = SEGMENT_IO;
    const feeds: Record<string, ort.Tensor> = {
      [io.hidden]: new ort.Tensor('float32', x, [rows, hiddenSize]),
      [io.cos]: new ort.Tensor('float32', cos, [rows, headDim / 2]),
      [io.sin]: new ort.Tensor('float32', sin, [rows, headDim / 2]),
      [io.attentionBias]: new ort.Tensor('float32', causalBias(rows, past + placeholder, realRows, placeholder), [rows, 1, past + placeholder + rows]),
      [io.headRows]: new ort.Tensor('int64', BigInt64Array.from(headRows, BigInt), [headRows.length]),
    };
    const fetches: Record<string, ort.Tensor | null> = { [io.hiddenOut]: null };
    const slots: [string, KvCacheRows][] = [];
    const shape = (n: number): number[] => [n, numKvHeads, headDim];
    for (let l = from; l < to; l++) {
      const zero = placeholder === 1 ? this.zeroRow() : null;
      feeds[io.pastKey(l)] = new ort.Tensor(cache.dtype, zero ?? cache.pastKeys(l), shape(past + placeholder));
      feeds[io.pastValue(l)] = new ort.Tensor(cache.dtype, zero ?? cache.pastValues(l), shape(past + placeholder));
      // the run writes the new rows into the cache itself (pre-allocated outputs); padding rows land past the
      // valid length and are overwritten later
      const slot = cache.slot(l, rows);
      slots.push([io.newKey(l), slot.keys], [io.newValue(l), slot.values]);
      fetches[io.newKey(l)] = new ort.Tensor(cache.dtype, slot.keys, shape(rows));
      fetches[io.newValue(l)] = new ort.Tensor(cache.dtype, slot.values, shape(rows));
    }
    if (head) fetches[io.ids] = null;
    if (head?.output === 'logits') fetches[io.logits] = null;
    if (head && segment.spec.everyExit && segment.spec.to - segment.spec.from > 1) fetches[io.exitIds] = null;
    const outputs = await segment.session.run(feeds, fetches);
    // the CPU provider wrote the rows into the slots already (onnxruntime-node still returns a copy); one that ignores
    // pre-allocated outputs (WebGPU) returns the only copy: put it in place. S rows either way, never the cache
    for (const [name, slot] of slots) slot.set(outputs[name].data as KvCacheRows);
    for (let l = from; l < to; l++) cache.advance(l, realRows);
    return outputs;
  }

  /** One cache row of zeros in the cache's dtype ([1, kvH, D]), the stand-in for an empty past. */
  private zeroRow(): KvCacheRows {
    const size = this.config.numKvHeads * this.config.headDim;
    this.zeros ??= this.kvCacheDtype === 'float16' ? new Uint16Array(size) : new Float32Array(size);
    return this.zeros;
  }

  /** The plan's segments that make up [from, to) exactly. */
  private segmentsCovering(from: number, to: number): Segment[] {
    const chain: Segment[] = [];
    let at = from;
    for (const segment of this.segments) {
      if (segment.spec.from === at && at < to) {
        chain.push(segment);
        at = segment.spec.to;
      }
    }
    if (at !== to || chain.length === 0) {
      const arranged = this.segments.map((s) => `[${s.spec.from}, ${s.spec.to})`).join(' ');
      throw new Error(`layers [${from}, ${to}) are not a run of the arranged segments ${arranged}: arrange() the plan first`);
    }
    return chain;
  }

  private async releaseSessions(): Promise<void> {
    const segments = this.segments;
    this.segments = [];
    this.plan = null;
    for (const segment of segments) await segment.session.release();
  }

  async dispose(): Promise<void> {
    await this.releaseSessions();
    closeSync(this.weightsFd);
  }
}

function defaultThreads(): number {
  return Math.min(8, availableParallelism());
}

/** exit_ids [exits, rows] (int64, rows possibly padded) -> [exits, realRows] as int32. */
function exitRows(data: BigInt64Array, rows: number, realRows: number): Int32Array {
  const exits = data.length / rows;
  const out = new Int32Array(exits * realRows);
  for (let e = 0; e < exits; e++) for (let r = 0; r < realRows; r++) out[e * realRows + r] = Number(data[e * rows + r]);
  return out;
}

/**
 * [S, 1, P + S], the mask of the S rows over the cached positions and themselves: real row i sees positions <= P + i
 * (0), not the later ones (-inf); padding rows (i >= realRows) see everything, their result is unused. The first
 * `hidden` positions (a placeholder row) are masked for every row.
 */
function causalBias(rows: number, past: number, realRows: number, hidden: number): Float32Array {
  const total = past + rows;
  const bias = new Float32Array(rows * total);
  for (let i = 0; i < rows; i++) bias.fill(-Infinity, i * total, i * total + hidden);
  for (let i = 0; i < realRows; i++) bias.fill(-Infinity, i * total + past + i + 1, (i + 1) * total);
  return bias;
}
