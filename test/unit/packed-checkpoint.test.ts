// training/checkpoints/ weights (training/gpu/ship.py's layout: gzip(u64 n | JSON header | int8 + fp16 scales | raw
// float32), cut into parts, sha256 of the joined parts) -> float32 safetensors. The container is built here by hand
// from known values, so the expected floats are q * scale computed independently of the reader.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { f32ToF16 } from '../../server/model/float16.js';
import { unpackCheckpoint } from '../../server/model/packedCheckpoint.js';
import { openCheckpoint, readTensor } from '../../server/model/safetensors.js';

const ROWS = 3;
const COLS = 128; // two groups of 64 per row
const SCALES = [0.5, 0.25, 0.125, 2, 1, 0.0625]; // exact in fp16
const q = Int8Array.from({ length: ROWS * COLS }, (_, i) => ((i * 37) % 255) - 127);
const norm = Float32Array.from([1.5, -2.25, 3]);

function packedCheckpoint(partBytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'packed-checkpoint-'));
  const qBytes = Buffer.from(q.buffer);
  const scaleBytes = Buffer.from(Uint16Array.from(SCALES, f32ToF16).buffer);
  const normBytes = Buffer.from(norm.buffer);
  const header = {
    'model.layers.0.mlp.up_proj.weight': { shape: [ROWS, COLS], q: [0, qBytes.length], scale: [qBytes.length, scaleBytes.length] },
    'model.norm.weight': { shape: [3], raw: [qBytes.length + scaleBytes.length, normBytes.length] },
  };
  const json = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  const packed = gzipSync(Buffer.concat([size, json, qBytes, scaleBytes, normBytes]));
  for (let i = 0; i * partBytes < packed.length; i++) {
    writeFileSync(join(dir, `weights.part${String(i).padStart(2, '0')}`), packed.subarray(i * partBytes, (i + 1) * partBytes));
  }
  writeFileSync(join(dir, 'weights.sha256'), createHash('sha256').update(packed).digest('hex') + '\n');
  writeFileSync(join(dir, 'config.json'), '{"model_type": "llama"}');
  return dir;
}

void test('parts are joined, checked and dequantized to float32 safetensors, json files copied', () => {
  const dir = packedCheckpoint(100);
  const out = join(dir, 'hf');
  assert.equal(unpackCheckpoint(dir, out), 2);
  const tensors = openCheckpoint(out);
  const weight = readTensor(tensors.get('model.layers.0.mlp.up_proj.weight')!);
  assert.equal(weight.length, ROWS * COLS);
  for (let i = 0; i < weight.length; i++) assert.equal(weight[i], q[i] * SCALES[Math.floor(i / 64)], `value ${i}`);
  assert.deepEqual(Array.from(readTensor(tensors.get('model.norm.weight')!)), Array.from(norm));
  assert.equal(readFileSync(join(out, 'config.json'), 'utf8'), '{"model_type": "llama"}');
});

void test('a damaged or missing part is refused with a message saying so, before anything is written', () => {
  const damaged = packedCheckpoint(100);
  const part = join(damaged, 'weights.part01');
  const bytes = readFileSync(part);
  bytes[5] ^= 0xff;
  writeFileSync(part, bytes);
  assert.throws(() => unpackCheckpoint(damaged, join(damaged, 'hf')), /sha256 .*\(a part is missing or damaged\)/);
  assert.ok(!existsSync(join(damaged, 'hf')), 'nothing was written');
  const missing = packedCheckpoint(100);
  rmSync(join(missing, 'weights.part00'));
  assert.throws(() => unpackCheckpoint(missing, join(missing, 'hf')), /a part is missing or damaged/);
  rmSync(join(missing, 'weights.sha256'));
  assert.throws(() => unpackCheckpoint(missing, join(missing, 'hf')), /no weights\.sha256/);
});
