// `npm run test:electron`: the extension in a desktop VS Code through @vscode/test-electron.
// Which VS Code: $VSCODE_EXECUTABLE_PATH, else the installation behind `code` on PATH, else VS Code 1.100.3
// downloaded from Microsoft when update.code.visualstudio.com answers. With none of these the run is SKIPPED: it says
// so and exits with 77 (the usual "skipped" status), never 0. CI machines here have neither; the e2e layer
// (code-server, `npm run test:e2e`) is the editor test that always runs. Linux without a display needs xvfb-run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';

const repoRoot = path.resolve(__dirname, '..', '..');
const skippedExitCode = 77;
const downloadVersion = '1.100.3';

/** The Electron executable of the VS Code whose CLI is `code` on PATH, if any. */
function executableBehindCodeCli(): string | undefined {
  const which = spawnSync(process.platform === 'win32' ? 'where' : 'which', ['code'], { encoding: 'utf8' });
  const cli = which.status === 0 ? which.stdout.split(/\r?\n/)[0]?.trim() : undefined;
  if (!cli) return undefined;
  const binDir = path.dirname(fs.realpathSync(cli)); // <install>/bin (Linux, Windows), .../Resources/app/bin (macOS)
  const candidates = [
    path.join(binDir, '..', 'code'),
    path.join(binDir, '..', 'Code.exe'),
    path.join(binDir, '..', '..', '..', 'MacOS', 'Electron'),
  ];
  return candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

async function downloadsReachable(): Promise<boolean> {
  try {
    const response = await fetch('https://update.code.visualstudio.com/api/releases/stable', {
      signal: AbortSignal.timeout(5_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const executable = process.env.VSCODE_EXECUTABLE_PATH ?? executableBehindCodeCli();
  if (executable === undefined && !(await downloadsReachable())) {
    console.log(
      'test:electron SKIPPED - nothing was tested: no VS Code found (set VSCODE_EXECUTABLE_PATH or put `code` on ' +
        'PATH) and update.code.visualstudio.com is unreachable, so none can be downloaded.',
    );
    process.exitCode = skippedExitCode;
    return;
  }
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) {
    throw new Error('dist/extension.js is missing: run `npm run build` first');
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'layerskip-electron-'));
  try {
    // The extension host loads CommonJS JavaScript, so the suite is bundled first (vscode stays external).
    const suite = path.join(scratch, 'suite.js');
    await esbuild.build({
      entryPoints: [path.join(__dirname, 'suite', 'index.ts')],
      outfile: suite,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['vscode'],
      logLevel: 'warning',
    });
    const workspace = path.join(scratch, 'workspace');
    fs.mkdirSync(workspace);
    console.log(`test:electron: ${executable ?? `VS Code ${downloadVersion} (download)`}`);
    await runTests({
      ...(executable === undefined ? { version: downloadVersion } : { vscodeExecutablePath: executable }),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: suite,
      launchArgs: [workspace, '--disable-extensions', '--user-data-dir', path.join(scratch, 'user-data')],
    });
    console.log('test:electron PASSED');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error('test:electron FAILED:', error);
  process.exitCode = 1;
});
