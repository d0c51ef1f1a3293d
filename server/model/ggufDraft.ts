// LayerSkip's early exit as a llama.cpp draft model: a GGUF of the target holding only its first E blocks (plus the
// embedding, the final norm and the output head, which the early exit shares), with `<arch>.block_count = E`. The
// tensors are copied byte for byte in their own quantization, so the draft is exactly the target's layers [0, E):
// `llama-server -m target.gguf -md draft.gguf` then drafts with LayerSkip's early exit. GGUF layout (v2/v3):
// magic, version, tensor count, metadata count, metadata key/values, tensor infos (name, dims, type, offset), padding
// to `general.alignment`, tensor data. Only the header is held in memory; the data is streamed.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const MAGIC = 0x46554747; // "GGUF" little-endian
const DEFAULT_ALIGNMENT = 32;
const COPY_CHUNK = 8 << 20;
const enum ValueType { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 }
const FIXED_SIZE: Partial<Record<ValueType, number>> = {
  [ValueType.U8]: 1, [ValueType.I8]: 1, [ValueType.Bool]: 1, [ValueType.U16]: 2, [ValueType.I16]: 2,
  [ValueType.U32]: 4, [ValueType.I32]: 4, [ValueType.F32]: 4, [ValueType.U64]: 8, [ValueType.I64]: 8, [ValueType.F64]: 8,
};

interface MetadataEntry {
  key: string;
  type: ValueType;
  /** The whole entry (key, type, value) as stored. */
  raw: Buffer;
  /** Its value when a number or a string, for the few keys read here. */
  value: number | string | null;
}

interface TensorEntry {
  name: string;
  /** The info after the name (n_dims, dims, type), as stored; the offset is rewritten. */
  shapeAndType: Buffer;
  offset: number;
}

export interface GgufHeader {
  version: number;
  metadata: MetadataEntry[];
  tensors: TensorEntry[];
  alignment: number;
  /** File offset where tensor data starts. */
  dataStart: number;
}

export class GgufError extends Error {
  override name = 'GgufError';
}

/** Reads a header from a buffer holding at least all of it; throws RangeError when it needs more bytes. */
function parseHeader(buffer: Buffer, file: string): GgufHeader {
  let at = 0;
  const need = (n: number): void => {
    if (at + n > buffer.length) throw new RangeError('header continues past the buffer');
  };
  const u32 = (): number => (need(4), (at += 4), buffer.readUInt32LE(at - 4));
  const u64 = (): number => {
    need(8);
    const value = buffer.readBigUInt64LE(at);
    at += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${file}: a length or offset too large to be real (${value}): not a GGUF file?`);
    return Number(value);
  };
  const string = (): string => {
    const length = u64();
    need(length);
    at += length;
    return buffer.toString('utf8', at - length, at);
  };
  const skipValue = (type: ValueType): number | string | null => {
    if (type === ValueType.String) return string();
    if (type === ValueType.Array) {
      const itemType = u32() as ValueType;
      const count = u64();
      const size = FIXED_SIZE[itemType];
      if (size !== undefined) {
        need(count * size);
        at += count * size;
      } else {
        for (let i = 0; i < count; i++) skipValue(itemType);
      }
      return null;
    }
    const size = FIXED_SIZE[type];
    if (size === undefined) throw new GgufError(`${file}: unknown metadata value type ${type}`);
    need(size);
    at += size;
    if (type === ValueType.U32) return buffer.readUInt32LE(at - 4);
    if (type === ValueType.I32) return buffer.readInt32LE(at - 4);
    if (type === ValueType.U64) return Number(buffer.readBigUInt64LE(at - 8));
    return null;
  };

  if (buffer.length < 4 || buffer.readUInt32LE(0) !== MAGIC) throw new GgufError(`${file}: not a GGUF file (no GGUF magic)`);
  at = 4;
  const version = u32();
  if (version < 2 || version > 3) throw new GgufError(`${file}: GGUF version ${version} is not supported (2 and 3 are)`);
  const tensorCount = u64();
  const metadataCount = u64();
  const metadata: MetadataEntry[] = [];
  for (let i = 0; i < metadataCount; i++) {
    const start = at;
    const key = string();
    const type = u32() as ValueType;
    const value = skipValue(type);
    metadata.push({ key, type, raw: buffer.subarray(start, at), value });
  }
  const tensors: TensorEntry[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = string();
    const shapeStart = at;
    const dims = u32();
    need(dims * 8 + 4);
    at += dims * 8 + 4;
    tensors.push({ name, shapeAndType: buffer.subarray(shapeStart, at), offset: u64() });
  }
  const alignmentValue = metadata.find((entry) => entry.key === 'general.alignment')?.value;
  const alignment = typeof alignmentValue === 'number' && alignmentValue > 0 ? alignmentValue : DEFAULT_ALIGNMENT;
  return { version, metadata, tensors, alignment, dataStart: alignUp(at, alignment) };
}

export function readGgufHeader(file: string): GgufHeader {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    for (let length = Math.min(size, 16 << 20); ; length = Math.min(size, length * 4)) {
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, 0);
      try {
        return parseHeader(buffer, file);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        if (length === size) throw new GgufError(`${file}: truncated (the header runs past the end of the file)`);
      }
    }
  } finally {
    closeSync(fd);
  }
}

export interface ExportedGgufDraft {
  file: string;
  architecture: string;
  exitLayer: number;
  numLayers: number;
  tensors: number;
  bytes: number;
}

/** Writes `outFile`: the GGUF `targetFile` cut to its first `exitLayer` blocks (see the top of this file). */
export function exportGgufDraft(targetFile: string, exitLayer: number, outFile: string, options: { force?: boolean } = {}): ExportedGgufDraft {
  if (existsSync(outFile) && !options.force) throw new Error(`${outFile} exists (add --force to replace it)`);
  const header = readGgufHeader(targetFile);
  const text = (key: string): string | null => {
    const value = header.metadata.find((entry) => entry.key === key)?.value;
    return typeof value === 'string' ? value : null;
  };
  const architecture = text('general.architecture');
  if (architecture === null) throw new GgufError(`${targetFile}: no general.architecture`);
  const blockCountKey = `${architecture}.block_count`;
  const blockCount = header.metadata.find((entry) => entry.key === blockCountKey);
  if (blockCount === undefined || typeof blockCount.value !== 'number') throw new GgufError(`${targetFile}: no ${blockCountKey}`);
  const splits = header.metadata.find((entry) => entry.key === 'split.count')?.value;
  if (typeof splits === 'number' && splits > 1) throw new GgufError(`${targetFile}: a split GGUF (${splits} files); merge it first (llama-gguf-split --merge)`);
  const numLayers = blockCount.value;
  if (!Number.isInteger(exitLayer) || exitLayer < 1 || exitLayer >= numLayers) {
    throw new RangeError(`--exit-layer must be an integer in [1, ${numLayers - 1}] for a ${numLayers}-layer model (got ${exitLayer})`);
  }

  // a tensor's bytes run to the next tensor's offset (or the end of the file): its data plus alignment padding
  const fileSize = statSync(targetFile).size;
  const byOffset = [...header.tensors].sort((a, b) => a.offset - b.offset);
  const spans = new Map(byOffset.map((tensor, i) => [tensor, (byOffset[i + 1]?.offset ?? fileSize - header.dataStart) - tensor.offset]));
  for (const tensor of header.tensors) {
    const needed = dataBytes(tensor);
    const span = spans.get(tensor) ?? 0;
    if (span < 0 || (needed !== null && span < needed)) throw new GgufError(`${targetFile}: truncated inside tensor ${tensor.name}`);
  }
  const kept = header.tensors.filter((tensor) => {
    const block = /^blk\.(\d+)\./.exec(tensor.name);
    return block === null || Number(block[1]) < exitLayer;
  });

  // (a draft of a draft replaces its layerskip.* entries: GGUF readers refuse a key given twice)
  const metadata = header.metadata
    .filter((entry) => !entry.key.startsWith('layerskip.'))
    .map((entry) => (entry === blockCount ? metadataEntry(blockCountKey, blockCount.type, exitLayer) : entry.raw));
  metadata.push(metadataEntry('layerskip.exit_layer', ValueType.U32, exitLayer), metadataEntry('layerskip.target_block_count', ValueType.U32, numLayers));
  const infos: Buffer[] = [];
  let offset = 0;
  const placed = kept.map((tensor) => {
    const span = spans.get(tensor) ?? 0;
    infos.push(ggufString(tensor.name), tensor.shapeAndType, u64(offset));
    const at = offset;
    offset = alignUp(offset + span, header.alignment);
    return { tensor, at, span };
  });
  const head = Buffer.concat([u32(MAGIC), u32(header.version), u64(kept.length), u64(metadata.length), ...metadata, ...infos]);
  const dataStart = alignUp(head.length, header.alignment);

  mkdirSync(dirname(outFile), { recursive: true });
  const partial = `${outFile}.partial`;
  const input = openSync(targetFile, 'r');
  const output = openSync(partial, 'w');
  try {
    writeSync(output, head, 0, head.length, 0);
    ftruncateSync(output, dataStart + offset); // the file ends at an aligned size, as llama.cpp's own writer leaves it
    const chunk = Buffer.alloc(COPY_CHUNK);
    for (const { tensor, at, span } of placed) {
      for (let done = 0; done < span; ) {
        const length = Math.min(COPY_CHUNK, span - done);
        const read = readSync(input, chunk, 0, length, header.dataStart + tensor.offset + done);
        if (read !== length) throw new GgufError(`${targetFile}: truncated inside tensor ${tensor.name}`);
        writeSync(output, chunk, 0, length, dataStart + at + done);
        done += length;
      }
    }
  } catch (error) {
    closeSync(output);
    rmSync(partial, { force: true });
    throw error;
  } finally {
    closeSync(input);
  }
  closeSync(output);
  renameSync(partial, outFile);
  return { file: outFile, architecture, exitLayer, numLayers, tensors: kept.length, bytes: statSync(outFile).size };
}

/** ggml tensor types: [elements per block, bytes per block] (ggml.c's type traits), for checking a file's length. */
const TYPE_BLOCKS: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 30: [1, 2],
};

/** Bytes of a tensor's data, or null for a type not in TYPE_BLOCKS (its span is then trusted). */
function dataBytes(tensor: TensorEntry): number | null {
  const info = tensor.shapeAndType;
  const dims = info.readUInt32LE(0);
  let elements = 1;
  for (let d = 0; d < dims; d++) elements *= Number(info.readBigUInt64LE(4 + 8 * d));
  const block = TYPE_BLOCKS[info.readUInt32LE(4 + 8 * dims)];
  return block === undefined ? null : (elements / block[0]) * block[1];
}

function metadataEntry(key: string, type: ValueType, value: number): Buffer {
  const size = FIXED_SIZE[type];
  if (size === undefined) throw new GgufError(`${key}: a number key stored as type ${type}`);
  const bytes = Buffer.alloc(size);
  if (size === 8) bytes.writeBigUInt64LE(BigInt(value));
  else if (size === 4) bytes.writeUInt32LE(value);
  else if (size === 2) bytes.writeUInt16LE(value);
  else bytes.writeUInt8(value);
  return Buffer.concat([ggufString(key), u32(type), bytes]);
}

function ggufString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([u64(bytes.length), bytes]);
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

function u64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(value));
  return bytes;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
