// export-draft from a GGUF, on small GGUF files laid out byte by byte here (the format as llama.cpp's gguf.h
// describes it): the draft keeps the non-block tensors and blocks [0, E) with their bytes unchanged at aligned
// offsets, says block_count = E, keeps every other metadata entry, and bad input is refused by name.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { exportGgufDraft, readGgufHeader } from '../../server/model/ggufDraft.js';

const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const u64 = (v: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const str = (s: string): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
const STRING = 8, U32 = 4, ARRAY = 9, F32 = 6;

/** A GGUF with `blocks` blocks of two F32 tensors each plus token_embd and output_norm; tensor data are distinct bytes. */
function ggufFile(blocks: number, alignment = 32): { file: string; data: Map<string, Buffer> } {
  const names = ['token_embd.weight', ...Array.from({ length: blocks }, (_, i) => [`blk.${i}.attn_norm.weight`, `blk.${i}.ffn_down.weight`]).flat(), 'output_norm.weight'];
  // the last tensor fills its aligned slot exactly, as real ones often do (no padding after it)
  const data = new Map(names.map((name, i) => [name, Buffer.alloc(i === names.length - 1 ? alignment : 4 * (3 + (i % 4)), i + 1)]));
  const metadata = [
    Buffer.concat([str('general.architecture'), u32(STRING), str('llama')]),
    Buffer.concat([str('general.alignment'), u32(U32), u32(alignment)]),
    Buffer.concat([str('llama.block_count'), u32(U32), u32(blocks)]),
    Buffer.concat([str('tokenizer.ggml.tokens'), u32(ARRAY), u32(STRING), u64(2), str('a'), str('b')]),
    Buffer.concat([str('llama.rope.freq_base'), u32(F32), Buffer.from(new Float32Array([10000]).buffer)]),
  ];
  let offset = 0;
  const infos = names.map((name) => {
    const bytes = data.get(name) as Buffer;
    const info = Buffer.concat([str(name), u32(1), u64(bytes.length / 4), u32(0), u64(offset)]);
    offset = Math.ceil((offset + bytes.length) / alignment) * alignment;
    return info;
  });
  const head = Buffer.concat([u32(0x46554747), u32(3), u64(names.length), u64(metadata.length), ...metadata, ...infos]);
  const start = Math.ceil(head.length / alignment) * alignment;
  const file = Buffer.alloc(start + offset);
  head.copy(file);
  offset = 0;
  for (const name of names) {
    const bytes = data.get(name) as Buffer;
    bytes.copy(file, start + offset);
    offset = Math.ceil((offset + bytes.length) / alignment) * alignment;
  }
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-')), 'target.gguf');
  writeFileSync(path, file);
  return { file: path, data };
}

void describe('export-draft from a GGUF', () => {
  for (const alignment of [32, 64]) {
    void it(`keeps blocks [0, E) and every other tensor byte for byte (alignment ${alignment})`, () => {
      const { file, data } = ggufFile(5, alignment);
      const out = join(mkdtempSync(join(tmpdir(), 'gguf-out-')), 'sub', 'draft.gguf');
      const exported = exportGgufDraft(file, 2, out);
      assert.equal(exported.numLayers, 5);
      assert.equal(exported.tensors, 6);
      const header = readGgufHeader(out);
      assert.deepEqual(header.tensors.map((t) => t.name), ['token_embd.weight', 'blk.0.attn_norm.weight', 'blk.0.ffn_down.weight', 'blk.1.attn_norm.weight', 'blk.1.ffn_down.weight', 'output_norm.weight']);
      const bytes = readFileSync(out);
      for (const tensor of header.tensors) {
        assert.equal(tensor.offset % alignment, 0);
        const original = data.get(tensor.name) as Buffer;
        assert.deepEqual(bytes.subarray(header.dataStart + tensor.offset, header.dataStart + tensor.offset + original.length), original, tensor.name);
      }
      const value = (key: string): unknown => header.metadata.find((entry) => entry.key === key)?.value;
      assert.equal(value('llama.block_count'), 2);
      assert.equal(value('layerskip.exit_layer'), 2);
      assert.equal(value('layerskip.target_block_count'), 5);
      assert.equal(value('general.architecture'), 'llama');
      assert.ok(header.metadata.some((entry) => entry.key === 'tokenizer.ggml.tokens'), 'arrays are carried over');
      assert.equal(bytes.length % alignment, 0);
      assert.equal(bytes.length, header.dataStart + (header.tensors.at(-1)?.offset ?? 0) + alignment, 'the last tensor kept whole');

      const again = exportGgufDraft(out, 1, join(dirname(out), 'draft-of-draft.gguf'));
      const twice = readGgufHeader(again.file).metadata.filter((entry) => entry.key.startsWith('layerskip.'));
      assert.deepEqual(twice.map((entry) => [entry.key, entry.value]), [['layerskip.exit_layer', 1], ['layerskip.target_block_count', 2]], 'a draft of a draft: each key once');
    });
  }

  void it('refuses bad input by name', () => {
    const { file } = ggufFile(3);
    const dir = mkdtempSync(join(tmpdir(), 'gguf-bad-'));
    assert.throws(() => exportGgufDraft(file, 3, join(dir, 'a.gguf')), /--exit-layer must be an integer in \[1, 2\] for a 3-layer model/);
    assert.throws(() => exportGgufDraft(file, 0, join(dir, 'a.gguf')), /--exit-layer/);
    exportGgufDraft(file, 1, join(dir, 'b.gguf'));
    assert.throws(() => exportGgufDraft(file, 1, join(dir, 'b.gguf')), /exists \(add --force/);
    exportGgufDraft(file, 2, join(dir, 'b.gguf'), { force: true });
    const notGguf = join(dir, 'x.gguf');
    writeFileSync(notGguf, 'PK\u0003\u0004 a zip');
    assert.throws(() => exportGgufDraft(notGguf, 1, join(dir, 'c.gguf')), /not a GGUF file/);
    const truncated = join(dir, 't.gguf');
    writeFileSync(truncated, readFileSync(file).subarray(0, 60));
    assert.throws(() => exportGgufDraft(truncated, 1, join(dir, 'd.gguf')), /truncated/);
    const cutData = join(dir, 'cut.gguf');
    writeFileSync(cutData, readFileSync(file).subarray(0, readFileSync(file).length - 8));
    assert.throws(() => exportGgufDraft(cutData, 2, join(dir, 'e.gguf')), /truncated inside tensor output_norm\.weight/);
    assert.ok(!existsSync(join(dir, 'e.gguf.partial')) && !existsSync(join(dir, 'e.gguf')), 'nothing left behind');
  });
});
