// Writes weights.bin: every tensor at a 4096-byte aligned offset (so onnxruntime can map it), streamed a few
// megabytes at a time from the checkpoint, converted to the package dtype on the way.
import { closeSync, openSync, writeSync } from 'node:fs';
import { DataType } from './onnxGraph.js';
import type { WeightRef } from './layerGraphs.js';
import { readRows, type TensorInfo } from './safetensors.js';
import { blocksPerRow, encodeRows, hasBlockBiases, quantBits, rowBytes, type PackageDtype } from './weightEncoding.js';

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
   * Streams `tensor` ([rows, cols]; 1-D tensors are one row) into the file in `dtype`.
   * Norms should be given 'fp32' (they are never quantized).
   */
  write(tensor: TensorInfo, dtype: PackageDtype): WeightRef {
    const rows = tensor.shape.length === 1 ? 1 : tensor.shape[0];
    const cols = tensor.shape.length === 1 ? tensor.shape[0] : tensor.shape[1];
    const offset = this.reserve(rows * rowBytes(cols, dtype));
    const bits = quantBits(dtype);
    const scalesLength = bits === null ? 0 : rows * blocksPerRow(cols) * 4;
    const scalesOffset = bits === null ? 0 : this.reserve(scalesLength);
    const biasesOffset = hasBlockBiases(dtype) ? this.reserve(scalesLength) : null;
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (cols * 4)));
    for (let first = 0; first < rows; first += rowsPerChunk) {
      const count = Math.min(rowsPerChunk, rows - first);
      const encoded = encodeRows(readRows(tensor, first, count), cols, dtype);
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
