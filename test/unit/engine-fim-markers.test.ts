// A FIM model's markers end a generation: <EOT> by design, and <PRE>/<SUF>/<MID>, which an under-trained FIM model
// emits inside the middle (the bundled model did: "<SUF>r<SUF>t.join(...)"), so that their text never shows.
// A package converted with prefix-only prompts (fimPrompts: false) has no FIM layout but stops at the markers alike.
// Oracle: the reference forward's naive greedy decoding, which knows nothing of FIM, cut before the first marker.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPackageEngine } from '../../server/engine/loadPackage.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { ReferenceBackend } from '../../server/model/referenceBackend.js';
import { generateCheckpoint } from '../support/checkpoints.js';
import { naiveGreedy, randomPrompts } from './engine-fixtures.js';

const MAX_NEW = 24;
const root = mkdtempSync(join(tmpdir(), 'fim-markers-'));
const checkpoint = generateCheckpoint({ family: 'codellama', numLayers: 2, hiddenSize: 32, seed: 5, dir: join(root, 'ckpt') });
const reference = ReferenceBackend.fromCheckpoint(checkpoint.dir);

for (const fimPrompts of [true, false]) {
  void test(`generation stops before any FIM marker the model emits (${fimPrompts ? 'FIM' : 'prefix-only'} prompts)`, async () => {
    const withFim = await convertCheckpoint(checkpoint.dir, join(root, 'fim'), { dtype: 'fp32', force: true });
    assert.ok(withFim.tokenizer.fim, 'the codellama test checkpoint has FIM tokens');
    const markers = Object.values(withFim.tokenizer.fim.ids);
    const dir = join(root, `pkg-${fimPrompts}`);
    const manifest = await convertCheckpoint(checkpoint.dir, dir, { dtype: 'fp32', fimPrompts });
    assert.equal(manifest.tokenizer.fim !== null, fimPrompts, 'the manifest describes FIM prompts only when they are on');
    const engine = await loadPackageEngine(dir);
    try {
      let checked = 0;
      for (const prompt of randomPrompts(60, 6, 3)) {
        const free = await naiveGreedy(reference, prompt, checkpoint.config.numLayers, MAX_NEW);
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
}
