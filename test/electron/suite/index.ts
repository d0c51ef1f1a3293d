// Runs inside VS Code's extension host (launched by test/electron/runTests.ts); bundled to CommonJS first.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension('layerskip.layerskip-completion');
  assert.ok(extension, 'layerskip.layerskip-completion is not loaded');
  await extension.activate();
  assert.equal(extension.isActive, true, 'the extension did not activate');
  console.log('test:electron: layerskip.layerskip-completion activated');
}
