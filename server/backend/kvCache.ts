import type { ModelConfig } from '../model/config.js';

/**
 * Per-layer key/value cache, position-major: keys[l] is [capacity, kvHeads, headDim] and the first length(l)
 * positions are valid. The valid prefix is contiguous, so onnxruntime reads it as a zero-copy [length, kvHeads,
 * headDim] view, and the rows a run adds are contiguous too: the backend hands `slot()` views to onnxruntime as
 * pre-allocated outputs, so the run writes its new keys and values straight into the cache and `advance()` only
 * moves the length. Nothing of the cache's size is copied per token. Capacity grows by doubling (one copy of the
 * valid prefix, before a generation: generation.ts reserves). Rolling back is setting a length: rejected drafts are
 * simply overwritten later.
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
  private keys: KvRows[]; // per layer [capacity, kvHeads, headDim]
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

  /** The valid keys of `layer`: [length, kvHeads, headDim] in the cache's dtype, a view (no copy). */
  pastKeys(layer: number): KvRows {
    return this.keys[layer].subarray(0, this.lengths[layer] * this.rowSize);
  }

  pastValues(layer: number): KvRows {
    return this.values[layer].subarray(0, this.lengths[layer] * this.rowSize);
  }

  /**
   * Views of the `rows` positions after the valid prefix of `layer` ([rows, kvHeads, headDim] each), for a run to
   * write its new keys and values into; `advance` then makes them valid. Grows the cache when needed.
   */
  slot(layer: number, rows: number): { keys: KvRows; values: KvRows } {
    const start = this.lengths[layer];
    this.reserve(start + rows);
    const range = [start * this.rowSize, (start + rows) * this.rowSize] as const;
    return { keys: this.keys[layer].subarray(...range), values: this.values[layer].subarray(...range) };
  }

  /** Marks `rows` more positions of `layer` valid (written through `slot`). */
  advance(layer: number, rows: number): void {
    if (this.lengths[layer] + rows > this.capacity) throw new RangeError(`layer ${layer}: advancing past the cache's capacity`);
    this.lengths[layer] += rows;
  }

  /** Appends rows (token-major [S, kvHeads, headDim] each, in the cache's dtype) after the valid prefix of `layer`. */
  append(layer: number, newKeys: KvRows, newValues: KvRows): void {
    if (!this.holds(newKeys) || !this.holds(newValues)) {
      throw new TypeError(`a ${this.dtype} KV cache was given ${newKeys.constructor.name} rows`);
    }
    const rows = newKeys.length / this.rowSize;
    const slot = this.slot(layer, rows);
    slot.keys.set(newKeys);
    slot.values.set(newValues);
    this.advance(layer, rows);
  }

  /** Forgets every position >= length in every layer (rollback of rejected drafts, prompt-cache divergence). */
  truncate(length: number): void {
    for (let l = 0; l < this.lengths.length; l++) this.lengths[l] = Math.min(this.lengths[l], length);
  }

  /** Bytes held (for stats and memory reports). */
  get byteLength(): number {
    return 2 * this.keys.length * this.capacity * this.rowSize * (this.dtype === 'float16' ? 2 : 4);
  }

  /** Makes room for `positions` positions per layer now (doubling), so that writes up to there never regrow the cache. */
  reserve(positions: number): void {
    if (positions <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < positions) capacity *= 2;
    const grow = (old: KvRows[]): KvRows[] =>
      old.map((buffer, layer) => {
        const bigger = this.allocate(capacity);
        bigger.set(buffer.subarray(0, this.lengths[layer] * this.rowSize));
        return bigger;
      });
    this.keys = grow(this.keys);
    this.values = grow(this.values);
    this.capacity = capacity;
  }

  private get rowSize(): number {
    return this.kvHeads * this.headDim;
  }

  private holds(rows: KvRows): boolean {
    return this.dtype === 'float16' ? rows instanceof Uint16Array : rows instanceof Float32Array;
  }

  private allocate(capacity: number): KvRows {
    const size = capacity * this.rowSize;
    return this.dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size);
  }
}

/** An empty cache of the shape and dtype a backend runs on. */
export function newKvCache(backend: { config: ModelConfig; kvCacheDtype: KvCacheDtype }, initialCapacity?: number): KvCache {
  const { numLayers, numKvHeads, headDim } = backend.config;
  return new KvCache(numLayers, numKvHeads, headDim, { dtype: backend.kvCacheDtype, initialCapacity });
}
