// Byte-level formats against hand-computed values: half floats, safetensors, the MatMulNBits layout, config.json.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseHfConfig } from '../../server/model/config.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f32ToHalves, halvesToF32 } from '../../server/model/float16.js';
import { FORMAT, FORMAT_VERSION, readManifest } from '../../server/model/manifest.js';
import { readHeader, readRows, readTensor, SafetensorsError, writeSafetensors } from '../../server/model/safetensors.js';
import { decodeRows, encodeRows } from '../../server/model/weightEncoding.js';
import { FAMILIES, generateCheckpoint } from '../support/checkpoints.js';

void test('float16 and bfloat16 conversions match IEEE bit patterns, rounding to nearest even', () => {
  const half: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65520, 0x7c00], // halfway to the next power: rounds up to infinity
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -26, 0x0000], // below half of it: zero
    [1 + 2 ** -11, 0x3c00], // tie: even mantissa (down)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: even mantissa (up)
  ];
  for (const [value, bits] of half) assert.equal(f32ToF16(value), bits, `f16(${value})`);
  assert.equal(f16ToF32(0x3555), 0.333251953125);
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f16ToF32(0xfc00), -Infinity);
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(Math.PI), 0x4049);
  assert.equal(bf16ToF32(0x4049), 3.140625);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  // the array versions agree with the scalar ones on every half pattern and on values needing rounding
  const every = Uint16Array.from({ length: 65536 }, (_, h) => h);
  const asF16 = halvesToF32(every, 'F16');
  const asBf16 = halvesToF32(every, 'BF16');
  for (let h = 0; h < 65536; h++) {
    assert.ok(Object.is(asF16[h], Math.fround(f16ToF32(h))) || (Number.isNaN(asF16[h]) && Number.isNaN(f16ToF32(h))));
    assert.ok(Object.is(asBf16[h], bf16ToF32(h)) || Number.isNaN(asBf16[h]));
  }
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 2 ** ((i % 40) - 20));
  assert.deepEqual([...f32ToHalves(values, 'F16')], [...values].map(f32ToF16));
  assert.deepEqual([...f32ToHalves(values, 'BF16')], [...values].map(f32ToBf16));
});

void test('safetensors: reads a hand-made file; writer output has the documented layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  // F16 [2, 2] = [[1, -2], [0.5, 65504]] then BF16 [1] = [3.140625]
  const header = JSON.stringify({
    a: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
    b: { dtype: 'BF16', shape: [1], data_offsets: [8, 10] },
    c: { dtype: 'I64', shape: [1], data_offsets: [10, 18] },
    __metadata__: { format: 'pt' },
  });
  const data = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b, 0x49, 0x40, 1, 0, 0, 0, 0, 0, 0, 0]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const file = join(dir, 'hand.safetensors');
  writeFileSync(file, Buffer.concat([length, Buffer.from(header), data]));
  const tensors = readHeader(file);
  assert.deepEqual(tensors.map((t) => t.name), ['a', 'b'], 'non-float tensors are skipped');
  assert.deepEqual([...readTensor(tensors[0])], [1, -2, 0.5, 65504]);
  assert.deepEqual([...readRows(tensors[0], 1, 1)], [0.5, 65504]);
  assert.deepEqual([...readTensor(tensors[1])], [3.140625]);

  const written = join(dir, 'written.safetensors');
  writeSafetensors(written, [{ name: 'x', dtype: 'F32', shape: [3], chunks: () => [Float32Array.of(1, 2), Float32Array.of(3)] }]);
  const [x] = readHeader(written);
  assert.equal(x.offset % 8, 0, 'data 8-byte aligned');
  assert.deepEqual([...readTensor(x)], [1, 2, 3]);
  assert.throws(
    () => writeSafetensors(written, [{ name: 'y', dtype: 'F32', shape: [3], chunks: () => [Float32Array.of(1)] }]),
    /produced 1 values, shape needs 3/,
  );
  const tiny = join(dir, 'tiny.safetensors');
  writeFileSync(tiny, Buffer.from([1, 2, 3]));
  assert.throws(() => readHeader(tiny), SafetensorsError);
});

void test('int4 / int8 rows have the MatMulNBits layout (hand-computed bytes)', () => {
  // int4 is asymmetric: one Q4_1-style block, d = 0.5, m = -1.25: levels 15 0 3 8, then 28 x level 5
  const block = new Float32Array(32).fill(-1.25 + 0.5 * 5);
  block.set([6.25, -1.25, 0.25, 2.75]);
  const int4 = encodeRows(block, 32, 'int4');
  assert.equal(int4.data.length, 16);
  assert.equal(int4.data[0], 0x0f); // 15 low nibble, 0 high nibble
  assert.equal(int4.data[1], 0x83); // 3 low, 8 high
  assert.ok(int4.data.subarray(2).every((b) => b === 0x55));
  assert.equal(int4.scales?.readFloatLE(0), 0.5); // (max - min) / 15
  assert.equal(int4.biases?.readFloatLE(0), 2.75); // the value of level 8 (MatMulNBits' implicit zero point)
  assert.deepEqual([...decodeRows(int4, 1, 32, 'int4')], [...block]);

  const row = new Float32Array(32);
  row.set([7, -7, 0, 3.5]);
  const int8 = encodeRows(row, 32, 'int8'); // symmetric: scale 7/127, levels 127 -127 0 64 (63.5 rounds up), zero point 128
  assert.deepEqual([...int8.data.subarray(0, 4)], [255, 1, 128, 192]);
  assert.equal(int8.scales?.readFloatLE(0), Math.fround(7 / 127));
  assert.equal(int8.biases, undefined);

  // rows of 40 columns take two blocks (the second one padded); error <= half a step of each block
  const wide = Float32Array.from({ length: 80 }, (_, i) => Math.sin(i));
  for (const [dtype, steps] of [['int8', 254], ['int4', 15]] as const) {
    const back = decodeRows(encodeRows(wide, 40, dtype), 2, 40, dtype);
    for (let i = 0; i < wide.length; i++) assert.ok(Math.abs(back[i] - wide[i]) <= 2 / steps / 2 + 1e-6, `${dtype} [${i}]`);
  }
});

void test('int4 reproduces Q4_1 blocks (d * q + m, q in 0..15, both ends used) to float rounding', () => {
  let seed = 1;
  const random = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const rows = 64;
  const cols = 96;
  const values = new Float32Array(rows * cols);
  let worst = 0;
  for (let block = 0; block < values.length / 32; block++) {
    // fp16-like d and m as in a GGUF, levels drawn at random with 0 and 15 present (llama.cpp's Q4_1 maps the
    // block's min and max to them)
    const d = Math.fround(0.001 + random() * 0.05);
    const m = Math.fround(-15 * d * random());
    const levels = Array.from({ length: 32 }, () => Math.floor(random() * 16));
    levels[Math.floor(random() * 32)] = 0;
    levels[(Math.floor(random() * 31) + 1 + levels.indexOf(0)) % 32] = 15;
    levels.forEach((q, i) => (values[block * 32 + i] = Math.fround(Math.fround(d * q) + m)));
  }
  const back = decodeRows(encodeRows(values, cols, 'int4'), rows, cols, 'int4');
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(back[i] - values[i]));
  // a step is >= 1e-3 and values are < 1: a level off by one would be an error of >= 1e-3
  assert.ok(worst <= 1e-6, `max |error| ${worst}`);
});

const LLAMA32 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  vocab_size: 128256,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  rope_scaling: { factor: 32, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
};

void test('config.json of Llama 3.2 1B parses to the manifest config', () => {
  assert.deepEqual(parseHfConfig(LLAMA32), {
    numLayers: 16,
    hiddenSize: 2048,
    intermediateSize: 8192,
    numHeads: 32,
    numKvHeads: 8,
    headDim: 64,
    vocabSize: 128256,
    rmsNormEps: 1e-5,
    ropeTheta: 500000,
    ropeScaling: { ropeType: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    maxPositionEmbeddings: 131072,
    tieWordEmbeddings: true,
    bosTokenId: 128000,
    eosTokenIds: [128001, 128008, 128009],
  });
  // Llama 2 style: no num_key_value_heads, head_dim or rope_theta -> MHA, hidden/heads, 10000
  const llama2: Record<string, unknown> = { ...LLAMA32, eos_token_id: 2 };
  for (const key of ['num_key_value_heads', 'head_dim', 'rope_theta', 'rope_scaling']) delete llama2[key];
  const parsed = parseHfConfig(llama2);
  assert.equal(parsed.numKvHeads, 32);
  assert.equal(parsed.headDim, 64);
  assert.equal(parsed.ropeTheta, 10000);
  assert.equal(parsed.ropeScaling, null);
  assert.deepEqual(parsed.eosTokenIds, [2]);
  assert.throws(() => parseHfConfig({ ...LLAMA32, hidden_size: '2048' }), /"hidden_size" must be a positive integer/);
  assert.throws(() => parseHfConfig({ ...LLAMA32, hidden_act: 'gelu' }), /hidden_act "gelu" is not supported/);
  assert.throws(() => parseHfConfig([]), ConfigError);
});

void test('generated tokenizers load in @huggingface/tokenizers and round-trip code; FIM tokens are single ids', async () => {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const read = (dir: string, file: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
  const code = 'def f(x):\n    return x  # naïve ✓\n';
  for (const family of FAMILIES) {
    const { dir, config } = generateCheckpoint({ family, numLayers: 1, hiddenSize: 32 });
    const tokenizer = new Tokenizer(read(dir, 'tokenizer.json'), read(dir, 'tokenizer_config.json'));
    const { ids } = tokenizer.encode(code);
    assert.ok(ids.every((id: number) => id >= 0 && id < config.vocabSize), family);
    assert.equal(tokenizer.decode(ids), code, family);
    if (family === 'codellama') {
      assert.equal(tokenizer.encode('▁<PRE>').ids.length, 1);
      assert.equal(tokenizer.encode('▁<MID>').ids.length, 1);
    }
  }
});

void test('a package of an older format version is refused with a message to convert it again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'old-format-'));
  for (const old of [2, 3, 4]) {
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: FORMAT, formatVersion: old }));
    assert.throws(() => readManifest(dir), new RegExp(`has format ${old}, written by an older converter.*Convert it again`));
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: FORMAT, formatVersion: FORMAT_VERSION + 1 }));
  assert.throws(() => readManifest(dir), /not supported.*update the extension/);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: FORMAT, formatVersion: FORMAT_VERSION, dtype: 'int4', kvCache: 'int8' }));
  assert.throws(() => readManifest(dir), /unknown kvCache "int8"/);
});
