// Writes weights.bin: every tensor at a 4096-byte aligned offset (so onnxruntime can map it), streamed a few
// megabytes at a time from the checkpoint, converted to the package dtype on the way.
import { closeSync, openSync, writeSync } from 'node:fs';
import { DataType } from './onnxGraph.js';
import { readRows, type TensorInfo } from './safetensors.js';
import { blocksPerRow, encodeRows, hasBlockBiases, quantBits, rowBytes, type PackageDtype } from './weightEncoding.js';

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

/** Rows of a matrix to write: its shape and a reader of `count` rows from row `first` as float32. */
export interface RowSource {
  rows: number;
  cols: number;
  read(first: number, count: number): Float32Array;
}

/** A checkpoint tensor as a row source (1-D tensors are one row). */
export function tensorRows(tensor: TensorInfo): RowSource {
  return {
    rows: tensor.shape.length === 1 ? 1 : tensor.shape[0],
    cols: tensor.shape.length === 1 ? tensor.shape[0] : tensor.shape[1],
    read: (first, count) => readRows(tensor, first, count),
  };
}

/** The rows of several matrices with the same columns, one after another (fused q/k/v, gate/up). */
export function stackedRows(parts: readonly RowSource[]): RowSource {
  const cols = parts[0].cols;
  if (parts.some((p) => p.cols !== cols)) throw new Error('stacked matrices must have the same number of columns');
  const rows = parts.reduce((sum, p) => sum + p.rows, 0);
  return {
    rows,
    cols,
    read(first, count) {
      const out = new Float32Array(count * cols);
      let start = 0;
      for (const part of parts) {
        const from = Math.max(first, start);
        const to = Math.min(first + count, start + part.rows);
        if (from < to) out.set(part.read(from - start, to - from), (from - first) * cols);
        start += part.rows;
      }
      return out;
    },
  };
}

/** Selected rows of a matrix, in the given order (the draft head's vocabulary). */
export function selectedRows(source: RowSource, ids: ArrayLike<number>): RowSource {
  return {
    rows: ids.length,
    cols: source.cols,
    read(first, count) {
      const out = new Float32Array(count * source.cols);
      for (let i = 0; i < count; i++) out.set(source.read(ids[first + i], 1), i * source.cols);
      return out;
    },
  };
}

const ALIGNMENT = 4096;
const CHUNK_BYTES = 16 * 1024 * 1024; // float32 bytes read per step: bounds memory whatever the tensor size

export class WeightsFileWriter {
  private readonly fd: number;
  private end = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  get bytesWritten(): number {
    return this.end;
  }

  /**
   * Streams a tensor ([rows, cols]; 1-D tensors are one row) or any row source into the file in `dtype`.
   * Norms should be given 'fp32' (they are never quantized).
   */
  write(tensor: TensorInfo | RowSource, dtype: PackageDtype): WeightRef {
    const source = 'read' in tensor ? tensor : tensorRows(tensor);
    const { rows, cols } = source;
    const offset = this.reserve(rows * rowBytes(cols, dtype));
    const bits = quantBits(dtype);
    const scalesLength = bits === null ? 0 : rows * blocksPerRow(cols) * 4;
    const scalesOffset = bits === null ? 0 : this.reserve(scalesLength);
    const biasesOffset = hasBlockBiases(dtype) ? this.reserve(scalesLength) : null;
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (cols * 4)));
    for (let first = 0; first < rows; first += rowsPerChunk) {
      const count = Math.min(rowsPerChunk, rows - first);
      const encoded = encodeRows(source.read(first, count), cols, dtype);
      writeSync(this.fd, encoded.data, 0, encoded.data.length, offset + first * rowBytes(cols, dtype));
      if (encoded.scales) {
        writeSync(this.fd, encoded.scales, 0, encoded.scales.length, scalesOffset + first * blocksPerRow(cols) * 4);
      }
      if (encoded.biases && biasesOffset !== null) {
        writeSync(this.fd, encoded.biases, 0, encoded.biases.length, biasesOffset + first * blocksPerRow(cols) * 4);
      }
    }
    const length = rows * rowBytes(cols, dtype);
    if (bits === null) {
      const dataType = dtype === 'fp16' ? DataType.Float16 : DataType.Float;
      return { kind: 'dense', dataType, rows, cols, offset, length };
    }
    const biases = biasesOffset === null ? null : { offset: biasesOffset, length: scalesLength };
    return { kind: 'nbits', bits, rows, cols, offset, length, scales: { offset: scalesOffset, length: scalesLength }, biases };
  }

  close(): void {
    // the last tensor may end before its region's aligned end: nothing to pad, ORT reads exact lengths
    closeSync(this.fd);
  }

  private reserve(bytes: number): number {
    const offset = Math.ceil(this.end / ALIGNMENT) * ALIGNMENT;
    this.end = offset + bytes;
    return offset;
  }
}
