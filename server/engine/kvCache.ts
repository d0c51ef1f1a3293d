import type { LayerBackend } from './backend.js';

/**
 * Per-layer key/value cache, head-major: keys[l] is [kvHeads, capacity, headDim] and the first length(l) positions
 * of each head are valid. Each head's valid prefix is contiguous, so it is handed to onnxruntime as a zero-copy
 * [length, headDim] view that MatMul reads as is (no transpose, no concatenation of the whole past per token).
 * Appending copies only the new rows; capacity doubles when full (amortised O(1) per token, never a copy of the
 * whole cache per token). Rolling back is setting a length: rejected drafts are simply overwritten later.
 *
 * Rows are stored as float32, or as float16 bit patterns: at long contexts decoding is bound by reading the cache
 * (every token reads all of it), and halves halve that (llama.cpp's default cache type is f16 too).
 */
export type KvCacheDtype = 'float32' | 'float16';
export const KV_CACHE_DTYPES: readonly KvCacheDtype[] = ['float32', 'float16'];

/** Rows as stored: Float32Array for 'float32', Uint16Array of IEEE half bit patterns for 'float16'. */
export type KvRows = Float32Array | Uint16Array;

export interface KvCacheOptions {
  dtype?: KvCacheDtype;
  /** Positions allocated up front per layer (default 256); the cache grows past it as needed. */
  initialCapacity?: number;
}

export class KvCache {
  readonly dtype: KvCacheDtype;
  private keys: KvRows[];
  private values: KvRows[];
  private readonly lengths: number[];
  private capacity: number;

  constructor(
    numLayers: number,
    readonly kvHeads: number,
    private readonly headDim: number,
    options: KvCacheOptions = {},
  ) {
    this.dtype = options.dtype ?? 'float32';
    this.capacity = Math.max(1, options.initialCapacity ?? 256);
    this.keys = Array.from({ length: numLayers }, () => this.allocate(this.capacity));
    this.values = Array.from({ length: numLayers }, () => this.allocate(this.capacity));
    this.lengths = new Array<number>(numLayers).fill(0);
  }

  get numLayers(): number {
    return this.lengths.length;
  }

  length(layer: number): number {
    return this.lengths[layer];
  }

  /** The valid keys of one kv head of `layer`: [length, headDim] in the cache's dtype, a view (no copy). */
  pastKeys(layer: number, head: number): KvRows {
    return this.view(this.keys[layer], layer, head);
  }

  pastValues(layer: number, head: number): KvRows {
    return this.view(this.values[layer], layer, head);
  }

  /**
   * Appends rows (token-major [S, kvHeads, headDim] each, as the layers return them, in the cache's dtype) after
   * the valid prefix of `layer`.
   */
  append(layer: number, newKeys: KvRows, newValues: KvRows): void {
    const { kvHeads, headDim } = this;
    if (!this.holds(newKeys) || !this.holds(newValues)) {
      throw new TypeError(`a ${this.dtype} KV cache was given ${newKeys.constructor.name} rows`);
    }
    const rows = newKeys.length / (kvHeads * headDim);
    const start = this.lengths[layer];
    this.reserve(start + rows);
    for (let s = 0; s < rows; s++) {
      for (let h = 0; h < kvHeads; h++) {
        const from = (s * kvHeads + h) * headDim;
        const to = (h * this.capacity + start + s) * headDim;
        this.keys[layer].set(newKeys.subarray(from, from + headDim), to);
        this.values[layer].set(newValues.subarray(from, from + headDim), to);
      }
    }
    this.lengths[layer] = start + rows;
  }

  /** Forgets every position >= length in every layer (rollback of rejected drafts, prompt-cache divergence). */
  truncate(length: number): void {
    for (let l = 0; l < this.lengths.length; l++) this.lengths[l] = Math.min(this.lengths[l], length);
  }

  /** Bytes held (for stats and memory reports). */
  get byteLength(): number {
    return 2 * this.keys.length * this.kvHeads * this.capacity * this.headDim * (this.dtype === 'float16' ? 2 : 4);
  }

  private holds(rows: KvRows): boolean {
    return this.dtype === 'float16' ? rows instanceof Uint16Array : rows instanceof Float32Array;
  }

  private allocate(capacity: number): KvRows {
    const size = this.kvHeads * capacity * this.headDim;
    return this.dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size);
  }

  private view(buffer: KvRows, layer: number, head: number): KvRows {
    const start = head * this.capacity * this.headDim;
    return buffer.subarray(start, start + this.lengths[layer] * this.headDim);
  }

  /** Makes room for `positions` positions per layer now (doubling), so that appends up to there never regrow the cache. */
  reserve(positions: number): void {
    if (positions <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < positions) capacity *= 2;
    const headSize = this.capacity * this.headDim;
    // every head's block moves to its new offset (head * capacity * headDim)
    const grow = (old: KvRows[]): KvRows[] =>
      old.map((buffer) => {
        const bigger = this.allocate(capacity);
        for (let h = 0; h < this.kvHeads; h++) bigger.set(buffer.subarray(h * headSize, (h + 1) * headSize), h * capacity * this.headDim);
        return bigger;
      });
    this.keys = grow(this.keys);
    this.values = grow(this.values);
    this.capacity = capacity;
  }
}

/** An empty cache of the shape and dtype `backend` runs on. */
export function newKvCache(backend: Pick<LayerBackend, 'config' | 'kvCacheDtype'>, initialCapacity?: number): KvCache {
  const { numLayers, numKvHeads, headDim } = backend.config;
  return new KvCache(numLayers, numKvHeads, headDim, { dtype: backend.kvCacheDtype, initialCapacity });
}
