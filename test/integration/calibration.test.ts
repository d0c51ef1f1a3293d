// Calibration through the product's doors: `layerskip calibrate --json`, the LSP server calibrating in the background
// and keeping the result for the next start, mode auto following it, and an explicit completion asked while the model
// is still loading.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CalibrateRequest, CancelCalibrationRequest, GetStateRequest, type CalibrationResult, type CalibrationStatus } from '../../server/protocol.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { generateCheckpoint } from '../support/checkpoints.js';
import { LspSession, repoRoot, tinyModelPackage, UNTIMED } from './lsp-harness.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'dist', 'cli.js');

function checkResult(result: CalibrationResult, numLayers: number): void {
  assert.equal(result.numLayers, numLayers);
  assert.deepEqual(result.layers.map((l) => l.exitLayer), Array.from({ length: numLayers - 1 }, (_, i) => i + 1));
  assert.ok(result.layers.every((l) => l.agreement >= 0 && l.agreement <= 1 && l.draftTokenMs > 0));
  assert.ok(result.sample.tokens > 0);
  const full = result.measured.find((m) => m.mode === 'full');
  assert.equal(full?.speedup, 1);
  assert.ok(result.measured.length >= 2, 'speculative settings were timed against full decoding');
  assert.ok(result.measured.some((m) => m.mode === result.chosen.mode && m.exitLayer === result.chosen.exitLayer && m.draftLength === result.chosen.draftLength), 'the choice is a timed setting');
  const fastest = Math.min(...result.measured.map((m) => m.msPerToken));
  assert.ok(result.chosen.mode === 'full' || result.chosen.msPerToken === fastest, 'a speculative choice is the fastest timed one');
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

void describe('layerskip calibrate', () => {
  void it('prints the per-layer agreement, the timed settings and the choice as JSON', async () => {
    const model = await tinyModelPackage('llama3');
    const { stdout } = await run(process.execPath, [cli, 'calibrate', '--model', model, '--tokens', '300', '--threads', '1', '--json'], { timeout: 300_000 });
    const result = JSON.parse(stdout) as CalibrationResult;
    checkResult(result, 6);
    assert.equal(result.sample.source, 'the bundled code sample', 'no files given: the bundled sample');
    assert.equal(result.threads, 1);
    const agreement = result.layers.map((l) => l.agreement);
    assert.ok(agreement[4] > agreement[0], `the quiet late layers agree more than the first (${agreement.map((a) => a.toFixed(2)).join(' ')})`);
  });

  void it('calibrates on the files it is given and answers --help with its usage', async () => {
    const model = await tinyModelPackage('llama3');
    const file = join(repoRoot, 'server', 'calibration', 'calibrate.ts');
    const { stdout } = await run(process.execPath, [cli, 'calibrate', '--model', model, '--files', file, '--tokens', '200', '--threads', '1'], { timeout: 300_000 });
    assert.match(stdout, /sample: 200 tokens in 1 windows \(1 file of yours\)/);
    assert.match(stdout, /chosen: (full decoding|self-speculative E\d+ d\d+)/);
    const help = await run(process.execPath, [cli, 'calibrate', '--help']);
    assert.match(help.stdout, /usage: layerskip calibrate --model <package-dir>/);
  });
});

void describe('the server calibrates in the background and keeps the result', () => {
  void it('calibrates on the open code, switches mode auto to the choice, and reuses it after a restart', async () => {
    const model = await tinyModelPackage('llama3');
    const storage = mkdtempSync(join(tmpdir(), 'layerskip-storage-'));
    const settings = { modelPath: model, mode: 'auto' as const, autoCalibrate: true, maxNewTokens: 8 };
    const first = await LspSession.start(settings, false, storage);
    let calibratedAt = '';
    try {
      const ready = await first.waitForPhase('ready');
      assert.equal(ready.operatingPoint?.mode, 'full', 'full decoding until calibrated');
      assert.equal(ready.operatingPoint?.source, 'uncalibrated');
      await first.open('file:///w/a.ts', 'export function add(a: number, b: number): number {\n  return a + b;\n}\n'.repeat(20));
      const done = await until('the calibration', () => first.calibrations.find((s) => s.state === 'done'));
      assert.ok(first.calibrations.some((s) => s.state === 'running' && s.progress !== null), 'progress was reported');
      checkResult(done.result!, 6);
      calibratedAt = done.result!.createdAt;
      const state = await first.request(GetStateRequest, null);
      const chosen = done.result!.chosen;
      assert.deepEqual([state.operatingPoint?.mode, state.operatingPoint?.exitLayer, state.operatingPoint?.source], [chosen.mode, chosen.exitLayer, 'calibrated']);
      assert.equal(readdirSync(join(storage, 'calibrations')).filter((f) => f.endsWith('.json')).length, 1, 'kept in the storage folder');
      await first.complete('file:///w/a.ts', { line: 3, character: 0 });
      assert.equal(first.stats.at(-1)?.mode, chosen.mode, 'completions decode at the chosen point');
    } finally {
      await first.close();
    }
    const second = await LspSession.start(settings, false, storage);
    try {
      await second.waitForPhase('ready');
      const status = await until('the stored calibration', () => second.calibrations.find((s) => s.state === 'done'));
      assert.ok(!second.calibrations.some((s) => s.state === 'running'), 'nothing ran again');
      assert.equal(status.result?.createdAt, calibratedAt, 'the first run\'s calibration');
      assert.equal((await second.request(GetStateRequest, null)).operatingPoint?.source, 'calibrated');
    } finally {
      await second.close();
    }
  });

  void it('calibrates on request and can be cancelled', async () => {
    const model = await tinyModelPackage('llama3');
    const session = await LspSession.start({ modelPath: model, autoCalibrate: false });
    try {
      await session.waitForPhase('ready');
      const requested = session.request(CalibrateRequest, null);
      await until('the calibration to start', () => session.calibrations.find((s) => s.state === 'running'));
      await session.request(CancelCalibrationRequest, null);
      await assert.rejects(requested);
      const cancelled = await until('the cancellation', () => session.calibrations.find((s: CalibrationStatus) => s.message === 'cancelled'));
      assert.equal(cancelled.state, 'none');
      checkResult(await session.request(CalibrateRequest, null), 6);
    } finally {
      await session.close();
    }
  });
});

void describe('an explicit completion while the model loads', () => {
  void it('waits for the model and is answered; an automatic one gets nothing meanwhile', async () => {
    // a model slow enough to load (sessions, warm-up) that the requests surely arrive while it does
    const root = mkdtempSync(join(tmpdir(), 'layerskip-slow-'));
    const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 8, hiddenSize: 384, intermediateSize: 1024, numHeads: 6, seed: 5, dir: join(root, 'ckpt') });
    await convertCheckpoint(checkpoint.dir, join(root, 'pkg'), { dtype: 'fp32' });
    assert.ok(existsSync(join(root, 'pkg', 'manifest.json')));
    const session = await LspSession.start({ modelPath: join(root, 'pkg'), maxNewTokens: 6, ...UNTIMED });
    try {
      await session.open('file:///w/b.ts', 'const values = [1, 2, 3];\nconst total = ');
      const phase = (await session.request(GetStateRequest, null)).phase;
      assert.equal(phase, 'loading', 'the requests below are sent while the model loads');
      const automatic = session.complete('file:///w/b.ts', { line: 1, character: 14 }, { automatic: true });
      const explicit = session.complete('file:///w/b.ts', { line: 1, character: 14 });
      assert.deepEqual((await automatic).items, []);
      await explicit;
      assert.equal(session.stats.length, 1, 'the explicit request ran the model once it was loaded');
      assert.ok(session.stats[0].generatedTokens > 0);
    } finally {
      await session.close();
    }
  });
});
