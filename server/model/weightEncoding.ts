// How a weight matrix [rows, cols] (HF [out, in]) is stored in weights.bin for each package dtype, and back.
// int8/int4 follow com.microsoft.MatMulNBits: per row, blocks of 32 along cols, one float32 scale per block, no
// zero-point tensor (MatMulNBits then subtracts 2^(bits-1)), 4-bit values packed low nibble first.
// int8 is symmetric. int4 is asymmetric: levels 0..15 span the block's [min, max] and a float32 bias per block
// (the value of level 8) restores the offset, so a Q4_1 block (d * q + m, q in 0..15, both ends used) comes back
// exactly. The bias is not a MatMulNBits zero point because onnxruntime's CPU kernel has no packed (fast) path for
// float zero points, and 4-bit integer zero points cannot express Q4_1's minimum; the graph adds it separately
// (segmentGraphs.ts).
import { f32ToHalves, halvesToF32 } from './float16.js';

export type PackageDtype = 'fp32' | 'fp16' | 'int8' | 'int4';
export const PACKAGE_DTYPES: readonly PackageDtype[] = ['fp32', 'fp16', 'int8', 'int4'];
export const BLOCK_SIZE = 32;

export function quantBits(dtype: PackageDtype): 4 | 8 | null {
  return dtype === 'int4' ? 4 : dtype === 'int8' ? 8 : null;
}

/** Whether the dtype stores a bias per block (asymmetric quantization). */
export function hasBlockBiases(dtype: PackageDtype): boolean {
  return dtype === 'int4';
}

export function blocksPerRow(cols: number): number {
  return Math.ceil(cols / BLOCK_SIZE);
}

/** Bytes of one stored row (data only; scales and biases are separate regions of blocksPerRow*4 bytes per row). */
export function rowBytes(cols: number, dtype: PackageDtype): number {
  switch (dtype) {
    case 'fp32':
      return cols * 4;
    case 'fp16':
      return cols * 2;
    case 'int8':
      return blocksPerRow(cols) * BLOCK_SIZE;
    case 'int4':
      return (blocksPerRow(cols) * BLOCK_SIZE) / 2;
  }
}

export interface EncodedRows {
  data: Buffer;
  /** float32 [rows, blocksPerRow], int8/int4 only. */
  scales?: Buffer;
  /** float32 [rows, blocksPerRow], int4 only: added to every value of the block. Absent means 0. */
  biases?: Buffer;
}

/** Encodes rows of float32 values ([rows, cols], row-major) in the package dtype. */
export function encodeRows(values: Float32Array, cols: number, dtype: PackageDtype): EncodedRows {
  const rows = values.length / cols;
  if (dtype === 'fp32') return { data: Buffer.from(values.buffer, values.byteOffset, values.byteLength) };
  if (dtype === 'fp16') {
    const halves = f32ToHalves(values, 'F16');
    return { data: Buffer.from(halves.buffer) };
  }
  const bits = dtype === 'int4' ? 4 : 8;
  const zeroPoint = 1 << (bits - 1); // MatMulNBits' default when no zero points are given
  const asymmetric = hasBlockBiases(dtype);
  const blocks = blocksPerRow(cols);
  // padding past cols meets no activation (MatMulNBits reads K columns); it holds the zero point
  const data = Buffer.alloc(rows * rowBytes(cols, dtype), bits === 8 ? zeroPoint : zeroPoint * 17);
  const scales = new Float32Array(rows * blocks);
  const biases = asymmetric ? new Float32Array(rows * blocks) : undefined;
  // symmetric (int8): levels 1..255, level 128 is 0; asymmetric (int4): levels 0..15, level 0 is the block's min
  const [minLevel, maxLevel, baseLevel] = asymmetric ? [0, 15, 0] : [1, 2 * zeroPoint - 1, zeroPoint];
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * cols + b * BLOCK_SIZE;
      const end = r * cols + Math.min(cols, (b + 1) * BLOCK_SIZE);
      let min = Infinity;
      let max = -Infinity;
      for (let i = start; i < end; i++) {
        min = Math.min(min, values[i]);
        max = Math.max(max, values[i]);
      }
      const scale = Math.fround(asymmetric ? (max - min) / maxLevel : Math.max(-min, max) / (zeroPoint - 1));
      const base = asymmetric ? min : 0; // the value of baseLevel
      scales[r * blocks + b] = scale;
      if (biases) biases[r * blocks + b] = Math.fround(min + zeroPoint * scale); // the value of level zeroPoint
      for (let i = start; i < end; i++) {
        const level = scale === 0 ? 0 : Math.round((values[i] - base) / scale);
        const q = Math.max(minLevel, Math.min(maxLevel, baseLevel + level));
        const k = b * BLOCK_SIZE + (i - start); // index within the (padded) row
        if (bits === 8) data[r * blocks * BLOCK_SIZE + k] = q;
        else {
          const at = r * blocks * (BLOCK_SIZE / 2) + (k >> 1);
          data[at] = k & 1 ? (data[at] & 0x0f) | (q << 4) : (data[at] & 0xf0) | q;
        }
      }
    }
  }
  return { data, scales: Buffer.from(scales.buffer), ...(biases ? { biases: Buffer.from(biases.buffer) } : {}) };
}

/**
 * Inverse of encodeRows (int8/int4 give the dequantized values: (level - zero point) * scale + bias). The one
 * decoder of stored weights: the engine reads embedding rows with it, the tests build their oracle's weights with it.
 */
export function decodeRows(encoded: EncodedRows, rows: number, cols: number, dtype: PackageDtype): Float32Array {
  const { data } = encoded;
  if (dtype === 'fp32') return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + rows * cols * 4));
  if (dtype === 'fp16') {
    const halves = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + rows * cols * 2));
    return halvesToF32(halves, 'F16');
  }
  const out = new Float32Array(rows * cols);
  if (!encoded.scales) throw new Error(`${dtype} rows need their scales`);
  if (hasBlockBiases(dtype) && !encoded.biases) throw new Error(`${dtype} rows need their block biases`);
  const bits = dtype === 'int4' ? 4 : 8;
  const zeroPoint = 1 << (bits - 1);
  const blocks = blocksPerRow(cols);
  const perRow = rowBytes(cols, dtype);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const block = 4 * (r * blocks + Math.floor(c / BLOCK_SIZE));
      const scale = encoded.scales.readFloatLE(block);
      const bias = encoded.biases ? encoded.biases.readFloatLE(block) : 0;
      const byte = data[r * perRow + (bits === 8 ? c : c >> 1)];
      const q = bits === 8 ? byte : c & 1 ? byte >> 4 : byte & 15;
      out[r * cols + c] = (q - zeroPoint) * scale + bias;
    }
  }
  return out;
}
