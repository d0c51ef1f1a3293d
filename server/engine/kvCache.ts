/**
 * Per-layer key/value cache, head-major: keys[l] is [kvHeads, capacity, headDim] and the first length(l) positions
 * of each head are valid. Each head's valid prefix is contiguous, so it is handed to onnxruntime as a zero-copy
 * [length, headDim] view that MatMul reads as is (no transpose, no concatenation of the whole past per token).
 * Appending copies only the new rows; capacity doubles when full (amortised O(1) per token, never a copy of the
 * whole cache per token). Rolling back is setting a length: rejected drafts are simply overwritten later.
 */
export class KvCache {
  private keys: Float32Array[];
  private values: Float32Array[];
  private readonly lengths: number[];
  private capacity: number;

  constructor(
    numLayers: number,
    readonly kvHeads: number,
    private readonly headDim: number,
    initialCapacity = 256,
  ) {
    this.capacity = Math.max(1, initialCapacity);
    this.keys = Array.from({ length: numLayers }, () => new Float32Array(kvHeads * this.capacity * headDim));
    this.values = Array.from({ length: numLayers }, () => new Float32Array(kvHeads * this.capacity * headDim));
    this.lengths = new Array<number>(numLayers).fill(0);
  }

  get numLayers(): number {
    return this.lengths.length;
  }

  length(layer: number): number {
    return this.lengths[layer];
  }

  /** The valid keys of one kv head of `layer`: [length, headDim], a view (no copy). */
  pastKeys(layer: number, head: number): Float32Array {
    return this.view(this.keys[layer], layer, head);
  }

  pastValues(layer: number, head: number): Float32Array {
    return this.view(this.values[layer], layer, head);
  }

  /** Appends rows (token-major [S, kvHeads, headDim] each, as the layers return them) after the valid prefix of `layer`. */
  append(layer: number, newKeys: Float32Array, newValues: Float32Array): void {
    const { kvHeads, headDim } = this;
    const rows = newKeys.length / (kvHeads * headDim);
    const start = this.lengths[layer];
    this.ensureCapacity(start + rows);
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
    return 2 * this.keys.length * this.kvHeads * this.capacity * this.headDim * 4;
  }

  private view(buffer: Float32Array, layer: number, head: number): Float32Array {
    const start = head * this.capacity * this.headDim;
    return buffer.subarray(start, start + this.lengths[layer] * this.headDim);
  }

  private ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < rows) capacity *= 2;
    const headSize = this.capacity * this.headDim;
    // every head's block moves to its new offset (head * capacity * headDim)
    const grow = (old: Float32Array[]): Float32Array[] =>
      old.map((buffer) => {
        const bigger = new Float32Array(this.kvHeads * capacity * this.headDim);
        for (let h = 0; h < this.kvHeads; h++) bigger.set(buffer.subarray(h * headSize, (h + 1) * headSize), h * capacity * this.headDim);
        return bigger;
      });
    this.keys = grow(this.keys);
    this.values = grow(this.values);
    this.capacity = capacity;
  }
}
