// Calibration in a real VS Code (code-server) with the bundled model and the default settings: the model calibrates
// in the background when it first loads (the status bar shows the progress) while completions keep coming, the status
// bar then shows the chosen operating point, and Show Calibration draws the chart. Screenshots (README pictures come
// from here: npm run readme-images) in test-output/e2e/calibration/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { vsixPath } from '../../scripts/package.js';
import { repoRoot, withEditor } from './support/editor.js';

const GHOST = '.ghost-text-decoration, .ghost-text';
const CALIBRATING = /calibrating \d+%/;
/**
 * The operating point once calibrated: "⚡ full" or "⚡ E6 d2 · 1.8×" (after a completion with its latency first). The
 * item's label is its text, then a comma and the tooltip: the comma says no "· calibrating" follows.
 */
const CALIBRATED = /⚡( \d+ ms ·)? (full|E\d+ d\d+ · [\d.]+×),/;

const SOURCE = [
  'def fibonacci(n):',
  '    """Return the n-th Fibonacci number."""',
  '    if n < 2:',
  '        return n',
  '    return ',
].join('\n');

void test('the bundled model calibrates in the background, the status bar shows the choice, Show Calibration draws it', async () => {
  assert.ok(existsSync(join(repoRoot, 'media', 'models', 'default', 'manifest.json')), 'no bundled model (npm run setup-model)');
  await withEditor(
    { name: 'calibration', vsix: vsixPath(), files: { 'fib.py': SOURCE }, settings: { 'editor.inlineSuggest.enabled': true } },
    async (editor) => {
      await editor.openFile('fib.py');
      const running = await editor.waitForStatusBarItem(CALIBRATING, 120_000);
      process.stdout.write(`# status bar while calibrating: ${running.label}\n`);

      // a completion asked for while the calibration runs is answered (the calibration steps aside)
      await editor.page.waitForTimeout(1000);
      await editor.page.keyboard.press('Control+End');
      await editor.page.keyboard.press('Alt+\\');
      await editor.page.locator(GHOST).first().waitFor({ state: 'visible', timeout: 60_000 });
      await editor.waitForStatusBarItem(/⚡ \d+ ms · full · calibrating \d+%/, 10_000);
      await editor.screenshot('ghost-text-while-calibrating');
      await editor.page.keyboard.press('Escape');

      const calibrated = await editor.waitForStatusBarItem(CALIBRATED, 240_000);
      process.stdout.write(`# status bar after calibrating: ${calibrated.label}\n`);
      await editor.page.keyboard.press('Alt+\\');
      await editor.page.locator(GHOST).first().waitFor({ state: 'visible', timeout: 60_000 });
      await editor.waitForStatusBarItem(/⚡ \d+ ms · (full|E\d+ d\d+ · [\d.]+×),/, 10_000);
      await editor.screenshot('ghost-text');
      await editor.page.keyboard.press('Escape');

      await editor.runCommand('LayerSkip: Show Calibration');
      const chart = editor.page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
      await chart.locator('svg[aria-label="Speedup over full decoding by exit layer and draft length"]').waitFor({ state: 'visible', timeout: 30_000 });
      const summary = await chart.locator('p.summary').innerText();
      assert.match(summary, /Fastest measured setting: (full decoding|self-speculative E\d+ d\d+)/);
      assert.equal(await chart.locator('rect.bar').count(), 29, 'one agreement bar per exit layer of the 30-layer model');
      await editor.screenshot('calibration-chart');
      await chart.locator('table').scrollIntoViewIfNeeded(); // brings the speedup map up
      await editor.screenshot('calibration-speedup');
    },
  );
});
