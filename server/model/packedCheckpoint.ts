// A checkpoint as training/checkpoints/ keeps it (int8 weights with fp16 scales per 64, gzipped and cut into parts by
// training/gpu/ship.py, whose docstring gives the layout) -> a float32 Hugging Face checkpoint folder that the
// converter reads as any other. CLI: node --import tsx scripts/unpack-checkpoint.ts <checkpoint-dir> <out-dir>
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { f16ToF32 } from './float16.js';
import { writeSafetensors, type TensorToWrite } from './safetensors.js';

const GROUP = 64;
const HF_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

type Span = [offset: number, bytes: number];
interface Entry {
  shape: number[];
  q?: Span;
  scale?: Span;
  raw?: Span;
}

function joinedParts(dir: string): Buffer {
  const parts = readdirSync(dir).filter((f) => /^weights\.part\d+$/.test(f)).sort();
  if (parts.length === 0) throw new Error(`${dir}: no weights.partNN files`);
  if (!existsSync(join(dir, 'weights.sha256'))) throw new Error(`${dir}: no weights.sha256`);
  const joined = Buffer.concat(parts.map((f) => readFileSync(join(dir, f))));
  const expected = readFileSync(join(dir, 'weights.sha256'), 'utf8').trim().split(/\s+/)[0];
  const actual = createHash('sha256').update(joined).digest('hex');
  if (actual !== expected) {
    throw new Error(`${dir}: the ${parts.length} joined parts have sha256 ${actual}, weights.sha256 says ${expected} (a part is missing or damaged)`);
  }
  return joined;
}

function dequantized(data: Buffer, base: number, entry: Entry): Float32Array {
  const at = ([offset, bytes]: Span): Buffer => data.subarray(base + offset, base + offset + bytes);
  if (entry.raw) return new Float32Array(new Uint8Array(at(entry.raw)).buffer);
  if (!entry.q || !entry.scale) throw new Error('tensor entry has neither "raw" nor "q" + "scale"');
  const q = new Int8Array(new Uint8Array(at(entry.q)).buffer);
  const scale = new Uint16Array(new Uint8Array(at(entry.scale)).buffer);
  const out = new Float32Array(q.length);
  for (let g = 0; g < scale.length; g++) {
    const s = f16ToF32(scale[g]);
    for (let i = g * GROUP; i < (g + 1) * GROUP; i++) out[i] = q[i] * s;
  }
  return out;
}

/** Writes out/model.safetensors (float32) and copies the Hugging Face json files; returns the number of tensors. */
export function unpackCheckpoint(dir: string, out: string): number {
  const data = gunzipSync(joinedParts(dir));
  const headerBytes = Number(data.readBigUInt64LE(0));
  const header = JSON.parse(data.subarray(8, 8 + headerBytes).toString('utf8')) as Record<string, Entry>;
  const base = 8 + headerBytes;
  mkdirSync(out, { recursive: true });
  const tensors: TensorToWrite[] = Object.entries(header).map(([name, entry]) => ({
    name,
    dtype: 'F32',
    shape: entry.shape,
    chunks: () => [dequantized(data, base, entry)],
  }));
  writeSafetensors(join(out, 'model.safetensors'), tensors);
  for (const f of HF_FILES) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(out, f));
  return tensors.length;
}
