// safetensors files (https://github.com/huggingface/safetensors): u64 LE header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw little-endian data. Read tensor by tensor
// (or a few rows at a time) so a 7B checkpoint never has to fit in memory.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { f32ToHalves, halvesToF32 } from './float16.js';

export type FloatDtype = 'F32' | 'F16' | 'BF16';
const BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface TensorInfo {
  name: string;
  file: string;
  dtype: FloatDtype;
  shape: number[];
  /** Absolute byte offset of the data in `file`. */
  offset: number;
  byteLength: number;
}

function isFloatDtype(dtype: unknown): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** Reads and checks one file's header. Non-float tensors are skipped (a Llama needs none). */
export function readHeader(file: string): TensorInfo[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError(`${file}: truncated or corrupt safetensors file (${size} bytes)`);
    const lengthBytes = Buffer.alloc(8);
    readSync(fd, lengthBytes, 0, 8, 0);
    const headerLength = Number(lengthBytes.readBigUInt64LE(0));
    if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
      throw new SafetensorsError(
        `${file}: truncated or corrupt safetensors file (header length ${headerLength}, file ${size} bytes)`,
      );
    }
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch {
      throw new SafetensorsError(`${file}: corrupt safetensors file (header is not JSON)`);
    }
    if (typeof header !== 'object' || header === null) throw new SafetensorsError(`${file}: corrupt header`);
    const dataStart = 8 + headerLength;
    const tensors: TensorInfo[] = [];
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      tensors.push(checkEntry(file, name, entry, dataStart, size));
    }
    return tensors.filter((t) => isFloatDtype(t.dtype));
  } finally {
    closeSync(fd);
  }
}

function checkEntry(file: string, name: string, entry: unknown, dataStart: number, size: number): TensorInfo {
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const shape = e.shape;
  const offsets = e.data_offsets;
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => Number.isInteger(d) && d >= 0) ||
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o) && o >= 0)
  ) {
    throw new SafetensorsError(`${file}: corrupt header entry for tensor "${name}"`);
  }
  const [begin, end] = offsets as [number, number];
  if (dataStart + end > size) {
    throw new SafetensorsError(
      `${file}: truncated safetensors file: tensor "${name}" ends at byte ${dataStart + end}, file has ${size}`,
    );
  }
  const dtype = e.dtype as FloatDtype;
  if (isFloatDtype(dtype)) {
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(
        `${file}: corrupt safetensors file: tensor "${name}" has ${end - begin} bytes, shape needs ${expected}`,
      );
    }
  }
  return { name, file, dtype, shape: shape as number[], offset: dataStart + begin, byteLength: end - begin };
}

/**
 * All tensors of a Hugging Face checkpoint folder: model.safetensors, or the shards listed by
 * model.safetensors.index.json.
 */
export function openCheckpoint(dir: string): Map<string, TensorInfo> {
  const index = join(dir, 'model.safetensors.index.json');
  const single = join(dir, 'model.safetensors');
  let files: string[];
  if (existsSync(index)) {
    let weightMap: unknown;
    try {
      weightMap = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (error) {
      throw new SafetensorsError(`${index}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof weightMap !== 'object' || weightMap === null) {
      throw new SafetensorsError(`${index}: no "weight_map" object`);
    }
    files = [...new Set(Object.values(weightMap as Record<string, string>))].map((f) => join(dir, f));
    for (const f of files) if (!existsSync(f)) throw new SafetensorsError(`shard ${f} listed in ${index} is missing`);
  } else if (existsSync(single)) {
    files = [single];
  } else {
    throw new SafetensorsError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  }
  const tensors = new Map<string, TensorInfo>();
  for (const file of files) for (const t of readHeader(file)) tensors.set(t.name, t);
  return tensors;
}

/** Rows [first, first+count) of a tensor viewed as [shape[0], rest], as float32. 1-D tensors are one row. */
export function readRows(info: TensorInfo, first: number, count: number): Float32Array {
  const rowElements = info.shape.length <= 1 ? (info.shape[0] ?? 1) : info.shape.slice(1).reduce((a, b) => a * b, 1);
  const bytes = BYTES[info.dtype];
  const raw = Buffer.alloc(count * rowElements * bytes);
  const fd = openSync(info.file, 'r');
  try {
    const got = readSync(fd, raw, 0, raw.length, info.offset + first * rowElements * bytes);
    if (got !== raw.length) throw new SafetensorsError(`${info.file}: truncated while reading "${info.name}"`);
  } finally {
    closeSync(fd);
  }
  return decode(raw, info.dtype);
}

/** The whole tensor as float32 (small tensors and tests; large ones go through readRows). */
export function readTensor(info: TensorInfo): Float32Array {
  return readRows(info, 0, info.shape.length <= 1 ? 1 : info.shape[0]);
}

// Buffer.alloc never hands out a pooled slice, so raw.byteOffset is 0 and typed views are aligned
// (little-endian host assumed, as onnxruntime's external data also is).
function decode(raw: Buffer, dtype: FloatDtype): Float32Array {
  if (dtype === 'F32') return new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  return halvesToF32(new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2), dtype);
}

function encode(values: Float32Array, dtype: FloatDtype): Buffer {
  if (dtype === 'F32') return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const halves = f32ToHalves(values, dtype);
  return Buffer.from(halves.buffer, halves.byteOffset, halves.byteLength);
}

export interface TensorToWrite {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  /** Produces the float32 values in row-major order, in as many chunks as it likes (streamed to disk). */
  chunks: () => Iterable<Float32Array>;
}

/** Writes a safetensors file chunk by chunk: memory stays at one chunk whatever the file size. */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    const length = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keep the data 8-byte aligned, as the reference writer does
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, json);
    for (const t of tensors) {
      let written = 0;
      for (const chunk of t.chunks()) {
        writeSync(fd, encode(chunk, t.dtype));
        written += chunk.length;
      }
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (written !== expected) throw new Error(`tensor ${t.name}: produced ${written} values, shape needs ${expected}`);
    }
  } finally {
    closeSync(fd);
  }
}
