// A FIM model's markers end a generation: <EOT> by design, and <PRE>/<SUF>/<MID>, which an under-trained FIM model
// emits inside the middle (the bundled model did: "<SUF>r<SUF>t.join(...)"), so that their text never shows.
// Oracle: the reference forward's naive greedy decoding, which knows nothing of FIM, cut before the first marker.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPackageEngine } from '../../server/engine/loadPackage.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { readManifest } from '../../server/model/manifest.js';
import { ReferenceBackend } from '../../server/model/referenceBackend.js';
import { generateCheckpoint } from '../support/checkpoints.js';
import { naiveGreedy, randomPrompts } from './engine-fixtures.js';

const MAX_NEW = 24;

void test('generation stops before any FIM marker the model emits', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fim-markers-'));
  const checkpoint = generateCheckpoint({ family: 'codellama', numLayers: 2, hiddenSize: 32, seed: 5, dir: join(root, 'ckpt') });
  const dir = join(root, 'pkg');
  await convertCheckpoint(checkpoint.dir, dir, { dtype: 'fp32' });
  const fim = readManifest(dir).tokenizer.fim;
  assert.ok(fim, 'the codellama test checkpoint has FIM tokens');
  const markers = [fim.ids.prefix, fim.ids.suffix, fim.ids.middle, fim.ids.eot];
  const reference = ReferenceBackend.fromCheckpoint(checkpoint.dir);
  const L = checkpoint.config.numLayers;
  const engine = await loadPackageEngine(dir);
  try {
    let checked = 0;
    for (const prompt of randomPrompts(60, 6, 3)) {
      const free = await naiveGreedy(reference, prompt, L, MAX_NEW);
      const cut = free.findIndex((token) => markers.includes(token));
      if (cut < 0) continue;
      const result = await engine.generate(prompt, { mode: 'full', maxNewTokens: MAX_NEW });
      assert.deepEqual(result.tokens, free.slice(0, cut), `prompt ${prompt.join(',')}`);
      assert.equal(result.stopReason, 'eos');
      checked++;
    }
    assert.ok(checked >= 2, `only ${checked} of 60 random prompts led the reference to a FIM marker`);
  } finally {
    await engine.dispose();
  }
});
