/**
 * Per-layer key/value cache, token-major: keys[l] is [capacity, kvHeads, headDim] and its first length(l)
 * positions are valid. The valid prefix is contiguous, so it is handed to onnxruntime as a zero-copy view.
 * Appending copies only the new rows; capacity doubles when full (amortised O(1) per token, never a copy of the
 * whole cache per token). Rolling back is setting a length: rejected drafts are simply overwritten later.
 */
export class KvCache {
  private keys: Float32Array[];
  private values: Float32Array[];
  private readonly lengths: number[];
  private readonly rowSize: number; // kvHeads * headDim
  private capacity: number;

  constructor(numLayers: number, kvHeads: number, headDim: number, initialCapacity = 256) {
    this.rowSize = kvHeads * headDim;
    this.capacity = Math.max(1, initialCapacity);
    this.keys = Array.from({ length: numLayers }, () => new Float32Array(this.capacity * this.rowSize));
    this.values = Array.from({ length: numLayers }, () => new Float32Array(this.capacity * this.rowSize));
    this.lengths = new Array<number>(numLayers).fill(0);
  }

  get numLayers(): number {
    return this.lengths.length;
  }

  length(layer: number): number {
    return this.lengths[layer];
  }

  /** The valid keys of `layer`: [length, kvHeads, headDim], a view (no copy). */
  pastKeys(layer: number): Float32Array {
    return this.keys[layer].subarray(0, this.lengths[layer] * this.rowSize);
  }

  pastValues(layer: number): Float32Array {
    return this.values[layer].subarray(0, this.lengths[layer] * this.rowSize);
  }

  /** Appends rows ([S, kvHeads, headDim] each) after the valid prefix of `layer`. */
  append(layer: number, newKeys: Float32Array, newValues: Float32Array): void {
    const rows = newKeys.length / this.rowSize;
    const start = this.lengths[layer];
    this.ensureCapacity(start + rows);
    this.keys[layer].set(newKeys, start * this.rowSize);
    this.values[layer].set(newValues, start * this.rowSize);
    this.lengths[layer] = start + rows;
  }

  /** Forgets every position >= length in every layer (rollback of rejected drafts, prompt-cache divergence). */
  truncate(length: number): void {
    for (let l = 0; l < this.lengths.length; l++) this.lengths[l] = Math.min(this.lengths[l], length);
  }

  /** Bytes held (for stats and memory reports). */
  get byteLength(): number {
    return 2 * this.keys.length * this.capacity * this.rowSize * 4;
  }

  private ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < rows) capacity *= 2;
    const grow = (old: Float32Array[]): Float32Array[] =>
      old.map((buffer) => {
        const bigger = new Float32Array(capacity * this.rowSize);
        bigger.set(buffer);
        return bigger;
      });
    this.keys = grow(this.keys);
    this.values = grow(this.values);
    this.capacity = capacity;
  }
}
