// Runs test layers with Node's test runner: node --import tsx scripts/run-tests.ts unit integration e2e
// Node 20 does not expand globs given to --test, so this finds test/<layer>/**/*.test.ts itself. A layer with no
// test files is announced as NOT TESTED (it is not counted as a pass, and does not fail the run: layers are filled
// in by different people). e2e files run one at a time: each starts an editor and a browser.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './package.js';

function findTestFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .sort();
}

const layers = process.argv.slice(2);
if (layers.length === 0) {
  console.error('usage: run-tests.ts <layer>... (folders under test/: unit, integration, e2e)');
  process.exit(2);
}
let failed = false;
for (const layer of layers) {
  const files = findTestFiles(path.join(repoRoot, 'test', layer));
  if (files.length === 0) {
    console.log(`\n=== ${layer}: NOT TESTED - no test/${layer}/**/*.test.ts files exist yet ===`);
    continue;
  }
  console.log(`\n=== ${layer}: ${files.length} file(s) ===`);
  const concurrency = layer === 'e2e' ? ['--test-concurrency=1'] : [];
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', ...concurrency, ...files],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  if (result.status !== 0) {
    console.log(`=== ${layer}: FAILED (exit ${String(result.status ?? result.signal)}) ===`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
