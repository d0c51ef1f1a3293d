// Packages the built extension (dist/) into a platform-specific .vsix with @vscode/vsce.
//   node --import tsx scripts/package.ts [--target linux-x64]      (default: this machine's platform)
// The bundle inlines every dependency except onnxruntime-node, whose native binaries differ per platform, so each
// .vsix carries exactly one platform's binaries (linux-x64: ~20 MB zipped instead of ~130 MB for all of them).
// Which files ship is decided by .vscodeignore (an allowlist); this script only swaps its platform directory.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_MODEL_DIR } from '../server/protocol.js';

export const repoRoot = path.resolve(__dirname, '..');

// vsce target name -> onnxruntime-node binary directory (bin/napi-v6/<dir>). ORT 1.30 ships no darwin-x64.
const ortBinaryDirByTarget: Record<string, string> = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
export const supportedTargets = Object.keys(ortBinaryDirByTarget);

export function hostTarget(): string {
  return `${process.platform}-${process.arch}`;
}

/** onnxruntime-node's binary folder for a target, relative to the package: bin/napi-v6/<platform>/<arch>. */
export function ortBinaryDir(target: string): string {
  const dir = ortBinaryDirByTarget[target];
  if (dir === undefined) throw new Error(`unsupported target ${target}; supported: ${supportedTargets.join(', ')}`);
  return `bin/napi-v6/${dir}`;
}

export function vsixPath(target: string = hostTarget()): string {
  return path.join(repoRoot, 'dist', `layerskip-completion-${target}.vsix`);
}

const ignoreFileBinaryLine = '!node_modules/onnxruntime-node/bin/napi-v6/linux/x64/**';

export function packageVsix(target: string): string {
  const binaryDir = ortBinaryDir(target);
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) {
    throw new Error('dist/extension.js is missing: run `npm run build` first');
  }
  // an extension without its model only shows an error once installed: never package one
  if (!fs.existsSync(path.join(repoRoot, DEFAULT_MODEL_DIR, 'manifest.json'))) {
    throw new Error(`the bundled model (${DEFAULT_MODEL_DIR}) is missing: run \`npm run setup-model\` (npm run package runs it first)`);
  }
  const allowlist = fs.readFileSync(path.join(repoRoot, '.vscodeignore'), 'utf8');
  if (!allowlist.includes(ignoreFileBinaryLine)) {
    throw new Error(`.vscodeignore must contain the line ${ignoreFileBinaryLine} (this script swaps its platform)`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'layerskip-package-'));
  const ignoreFile = path.join(tmp, 'vscodeignore');
  fs.writeFileSync(ignoreFile, allowlist.replace(ignoreFileBinaryLine, ignoreFileBinaryLine.replace('bin/napi-v6/linux/x64', binaryDir)));
  const out = vsixPath(target);
  // vsce writes to a temporary name that is renamed at the end, so a concurrent reader (an e2e run) never finds
  // the .vsix missing or half written.
  const partial = path.join(path.dirname(out), `.${path.basename(out, '.vsix')}.${process.pid}.vsix`);
  try {
    // Dependency detection stays on (no --no-dependencies): with it off vsce never looks inside node_modules, and
    // onnxruntime-node must ship. The allowlist then drops every other production dependency (all bundled).
    const vsce = path.join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
    const result = spawnSync(
      process.execPath,
      // README pictures stay relative links to docs/images/ (shipped): the editor shows the README from the installed
      // folder, and there is no public repository to rewrite them to
      [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', partial, '--allow-missing-repository', '--no-rewrite-relative-links'],
      { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (result.status !== 0) {
      throw new Error(`vsce package failed (exit ${String(result.status ?? result.signal)})`);
    }
    fs.renameSync(partial, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(partial, { force: true });
  }
  return out;
}

if (require.main === module) {
  const targetFlag = process.argv.indexOf('--target');
  const target = targetFlag >= 0 ? process.argv[targetFlag + 1] : hostTarget();
  try {
    const out = packageVsix(target ?? '');
    console.log(`${path.relative(repoRoot, out)} (${(fs.statSync(out).size / 1e6).toFixed(1)} MB)`);
  } catch (error) {
    console.error(`package: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
