// layerskip export-draft: the early exit as a standalone checkpoint. Oracle: the reference forward of the original
// checkpoint exiting after layer E; the exported one, run in full, must give the same logits bit for bit (in the
// reference forward and as converted packages), and its tensors must be the original bytes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertCheckpoint } from '../../server/model/convert.js';
import { exportDraft } from '../../server/model/exportDraft.js';
import { OnnxBackend } from '../../server/model/onnxBackend.js';
import { logitsAfterLayer, ReferenceBackend } from '../../server/model/referenceBackend.js';
import { openCheckpoint } from '../../server/model/safetensors.js';
import { generateCheckpoint, type Family } from '../support/checkpoints.js';
import { randomPrompts } from './engine-fixtures.js';

function rawBytes(info: { file: string; offset: number; byteLength: number }): Buffer {
  return readFileSync(info.file).subarray(info.offset, info.offset + info.byteLength);
}

for (const [family, shards] of [['llama3', 1], ['llama3.2', 2], ['llama2', 1]] as [Family, number][]) {
  void test(`the exported draft of a ${family} checkpoint (${shards} shard${shards > 1 ? 's' : ''}) is its early exit`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'export-draft-'));
    const source = generateCheckpoint({ family, numLayers: 5, hiddenSize: 64, shards, seed: 7, dir: join(root, 'src') });
    const E = 3;
    const out = join(root, 'draft');
    const exported = exportDraft(source.dir, E, out);
    assert.equal(exported.tensors, 1 + 9 * E + 1 + (source.config.tieWordEmbeddings ? 0 : 1));

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    const original = JSON.parse(readFileSync(join(source.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config, { ...original, num_hidden_layers: E });
    assert.ok(existsSync(join(out, 'tokenizer.json')) && exported.copiedFiles.includes('tokenizer.json'));

    const from = openCheckpoint(source.dir);
    const to = openCheckpoint(out);
    for (const [name, info] of to) {
      const src = from.get(name)!;
      assert.equal(info.dtype, src.dtype, name);
      assert.ok(rawBytes(info).equals(rawBytes(src)), `${name} keeps its bytes`);
    }
    assert.equal([...to.keys()].some((name) => name.startsWith(`model.layers.${E}.`)), false, 'no layer past the exit');

    const tokens = randomPrompts(1, 12, 3)[0];
    const early = await logitsAfterLayer(ReferenceBackend.fromCheckpoint(source.dir), tokens, E);
    const draft = await logitsAfterLayer(ReferenceBackend.fromCheckpoint(out), tokens, E);
    assert.deepEqual(draft, early, 'the draft model run in full = the original exiting after layer E');

    // the product path: both converted to packages, the draft's full decoding = the original's early exit at E
    await convertCheckpoint(source.dir, join(root, 'pkg'), { dtype: 'fp32' });
    await convertCheckpoint(out, join(root, 'draft-pkg'), { dtype: 'fp32' });
    const [fullPackage, draftPackage] = await Promise.all([OnnxBackend.load(join(root, 'pkg')), OnnxBackend.load(join(root, 'draft-pkg'))]);
    try {
      assert.deepEqual(await logitsAfterLayer(draftPackage, tokens, E), await logitsAfterLayer(fullPackage, tokens, E));
    } finally {
      await Promise.all([fullPackage.dispose(), draftPackage.dispose()]);
    }
  });
}

void test('export-draft refuses an exit layer the model does not have and a non-empty folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'export-draft-'));
  const source = generateCheckpoint({ family: 'llama3', numLayers: 4, hiddenSize: 64, seed: 1, dir: join(root, 'src') });
  assert.throws(() => exportDraft(source.dir, 4, join(root, 'a')), /--exit-layer must be an integer in \[1, 3\]/);
  assert.throws(() => exportDraft(source.dir, 0, join(root, 'a')), /\[1, 3\]/);
  exportDraft(source.dir, 2, join(root, 'b'));
  assert.throws(() => exportDraft(source.dir, 1, join(root, 'b')), /not empty.*--force/);
  assert.equal(exportDraft(source.dir, 1, join(root, 'b'), { force: true }).exitLayer, 1);
});
