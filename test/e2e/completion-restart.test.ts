// A server that dies is restarted by the extension, up to 5 times in 3 minutes; after that the status bar shows the
// error, a notification says what happened, and LayerSkip: Restart Server brings completions back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { vsixPath } from '../../scripts/package.js';
import { tinyModelPackage } from '../integration/lsp-harness.js';
import { MODEL_READY, withEditor, type Editor } from './support/editor.js';

/** Pid of the LSP server that this editor's extension started (its path is unique to the test's extensions dir). */
function serverPid(editor: Editor): number | null {
  const script = `${editor.installedExtensionDir('layerskip.layerskip-completion')}/dist/server.js`;
  const line = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .find((row) => row.includes(script));
  return line === undefined ? null : Number(line.trim().split(/\s+/)[0]);
}

async function waitForNewServer(editor: Editor, previous: number | null, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = serverPid(editor);
    if (pid !== null && pid !== previous) return pid;
    await editor.page.waitForTimeout(200);
  }
  throw new Error(`no new server process within ${timeoutMs} ms (previous ${previous})`);
}

void test('a killed server is restarted; after 5 deaths in 3 minutes it stays down until Restart Server', async () => {
  const modelPath = await tinyModelPackage('codellama');
  await withEditor(
    {
      name: 'completion-restart',
      vsix: vsixPath(),
      files: { 'main.ts': 'const total = ' },
      settings: { 'layerskip.modelPath': modelPath, 'layerskip.maxNewTokens': 8, 'layerskip.autoCalibrate': false },
    },
    async (editor) => {
      await editor.waitForStatusBarItem(MODEL_READY, 60_000);
      let pid = await waitForNewServer(editor, null);
      for (let death = 1; death <= 5; death++) {
        process.kill(pid, 'SIGKILL');
        pid = await waitForNewServer(editor, pid);
        await editor.waitForStatusBarItem(MODEL_READY, 30_000); // restarted and the model loaded again
      }
      await editor.screenshot('restarted-5-times');
      process.kill(pid, 'SIGKILL');
      await editor.waitForStatusBarItem(/error.*LayerSkip|LayerSkip.*stopped/i, 30_000);
      // vscode-languageclient may show its own toast too (a server killed while it was still starting)
      await editor.waitForNotification(/stopped 5 times within 3 minutes/, 10_000);
      assert.equal(serverPid(editor), null, 'no sixth restart');
      await editor.screenshot('gave-up');

      await editor.runCommand('LayerSkip: Restart Server');
      await waitForNewServer(editor, null);
      await editor.waitForStatusBarItem(MODEL_READY, 30_000);
      await editor.openFile('main.ts');
      await editor.page.waitForTimeout(1000);
      await editor.page.keyboard.press('Control+End');
      await editor.page.keyboard.press('Alt+\\');
      await editor.waitForStatusBarItem(/⚡ \d+ ms/, 30_000); // a completion ran on the restarted server
      await editor.screenshot('back');
    },
  );
});
