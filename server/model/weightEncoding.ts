// How a weight matrix [rows, cols] (HF [out, in]) is stored in weights.bin for each package dtype, and back.
// int8/int4 follow com.microsoft.MatMulNBits: per row, blocks of 32 along cols, symmetric, one float32 scale per
// block, no zero-point tensor (MatMulNBits then uses 2^(bits-1)), 4-bit values packed low nibble first.
import { f32ToHalves, halvesToF32 } from './float16.js';

export type PackageDtype = 'fp32' | 'fp16' | 'int8' | 'int4';
export const PACKAGE_DTYPES: readonly PackageDtype[] = ['fp32', 'fp16', 'int8', 'int4'];
export const BLOCK_SIZE = 32;

export function quantBits(dtype: PackageDtype): 4 | 8 | null {
  return dtype === 'int4' ? 4 : dtype === 'int8' ? 8 : null;
}

export function blocksPerRow(cols: number): number {
  return Math.ceil(cols / BLOCK_SIZE);
}

/** Bytes of one stored row (data only; int8/int4 scales are a separate region of blocksPerRow*4 bytes per row). */
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
  const maxLevel = (1 << (bits - 1)) - 1; // 7 or 127: symmetric levels -max..max
  const zeroPoint = 1 << (bits - 1); // MatMulNBits' default when no zero points are given
  const blocks = blocksPerRow(cols);
  // padding past cols holds the zero point, so it dequantizes to exactly 0
  const data = Buffer.alloc(rows * rowBytes(cols, dtype), bits === 8 ? zeroPoint : zeroPoint * 17);
  const scales = new Float32Array(rows * blocks);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * cols + b * BLOCK_SIZE;
      const end = r * cols + Math.min(cols, (b + 1) * BLOCK_SIZE);
      let absMax = 0;
      for (let i = start; i < end; i++) absMax = Math.max(absMax, Math.abs(values[i]));
      const scale = Math.fround(absMax / maxLevel);
      scales[r * blocks + b] = scale;
      for (let i = start; i < end; i++) {
        const level = scale === 0 ? 0 : Math.max(-maxLevel, Math.min(maxLevel, Math.round(values[i] / scale)));
        const q = level + zeroPoint;
        const k = b * BLOCK_SIZE + (i - start); // index within the (padded) row
        if (bits === 8) data[r * blocks * BLOCK_SIZE + k] = q;
        else {
          const at = r * blocks * (BLOCK_SIZE / 2) + (k >> 1);
          data[at] = k & 1 ? (data[at] & 0x0f) | (q << 4) : (data[at] & 0xf0) | q;
        }
      }
    }
  }
  return { data, scales: Buffer.from(scales.buffer) };
}

/** Inverse of encodeRows (int8/int4 give the dequantized values). */
export function decodeRows(encoded: EncodedRows, rows: number, cols: number, dtype: PackageDtype): Float32Array {
  const { data } = encoded;
  if (dtype === 'fp32') return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + rows * cols * 4));
  if (dtype === 'fp16') {
    const halves = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + rows * cols * 2));
    return halvesToF32(halves, 'F16');
  }
  const out = new Float32Array(rows * cols);
  if (!encoded.scales) throw new Error(`${dtype} rows need their scales`);
  const bits = dtype === 'int4' ? 4 : 8;
  const zeroPoint = 1 << (bits - 1);
  const blocks = blocksPerRow(cols);
  const perRow = rowBytes(cols, dtype);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const scale = encoded.scales.readFloatLE(4 * (r * blocks + Math.floor(c / BLOCK_SIZE)));
      const byte = data[r * perRow + (bits === 8 ? c : c >> 1)];
      const q = bits === 8 ? byte : c & 1 ? byte >> 4 : byte & 15;
      out[r * cols + c] = (q - zeroPoint) * scale;
    }
  }
  return out;
}
