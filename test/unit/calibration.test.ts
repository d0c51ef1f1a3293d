// Calibration: the one-pass agreement of every exit layer against the reference forward (the oracle), the replay of
// speculation over agreement sequences, the choice rule, the background gate, the code sample, the store, and the
// operating point the server derives from settings + calibration.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { everyExitPlan } from '../../server/backend/layerBackend.js';
import { newKvCache } from '../../server/backend/kvCache.js';
import { BackgroundGate, runAtOnce } from '../../server/calibration/backgroundGate.js';
import { chooseSetting, MIN_GAIN } from '../../server/calibration/calibrate.js';
import { checkMemory } from '../../server/calibration/calibratePackage.js';
import { CalibrationStore } from '../../server/calibration/calibrationStore.js';
import { codeSample, MIN_USER_TOKENS, WINDOW_TOKENS } from '../../server/calibration/codeSample.js';
import { agreementRate, measureExitAgreement } from '../../server/calibration/exitAgreement.js';
import { candidates, predictSpeedups, replaySpeculation } from '../../server/calibration/speedupModel.js';
import { fitLine, speculativeStepMs, timedExitLayers, verifyRemainderMs, type StepCosts } from '../../server/calibration/stepCosts.js';
import { Calibrations } from '../../server/completion/calibrations.js';
import { operatingPoint } from '../../server/completion/operatingPoint.js';
import { argmaxRows, logitsAfterLayer } from '../../server/model/backendHelpers.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { OnnxBackend } from '../../server/model/onnxBackend.js';
import { ReferenceBackend } from '../../server/model/referenceBackend.js';
import { DEFAULT_SETTINGS, type CalibrationResult, type CalibrationStatus, type ModelSummary, type TimedSetting } from '../../server/protocol.js';
import { generateCheckpoint } from '../support/checkpoints.js';
import { calibrationResult, fakeCalibrationTarget, noCalibrations } from './calibration-fixtures.js';
import { randomPrompts } from './engine-fixtures.js';

void describe('every exit layer in one pass, on an ONNX package with a draft head over 100 tokens', () => {
  const root = mkdtempSync(join(tmpdir(), 'calibration-'));
  const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 5, seed: 3, quietLayers: { fromLayer: 2, scale: 0.2 }, dir: join(root, 'ckpt') });
  const L = checkpoint.config.numLayers;
  const reference = ReferenceBackend.fromCheckpoint(checkpoint.dir);
  let backend: OnnxBackend;
  let draftIds: Int32Array;
  before(async () => {
    const manifest = await convertCheckpoint(checkpoint.dir, join(root, 'pkg'), { dtype: 'fp32', draftVocabulary: 100 });
    draftIds = Int32Array.from(manifest.draftHead!.ids);
    backend = await OnnxBackend.load(join(root, 'pkg'), { plan: everyExitPlan(L) });
  });
  after(() => backend.dispose());

  /** The oracle: the reference forward to layer E from scratch, its logits restricted to the draft vocabulary. */
  async function draftChoices(tokens: number[], exitLayer: number): Promise<Int32Array> {
    const vocab = checkpoint.config.vocabSize;
    const logits = await logitsAfterLayer(reference, tokens, exitLayer);
    const rows = tokens.length;
    const restricted = new Float32Array(rows * draftIds.length);
    for (let r = 0; r < rows; r++) for (let i = 0; i < draftIds.length; i++) restricted[r * draftIds.length + i] = logits[r * vocab + draftIds[i]];
    return argmaxRows(restricted, draftIds.length).map((i) => draftIds[i]);
  }

  void it("reports the draft head's choice after every layer, as the reference forward makes it, over chunked passes", async () => {
    const [tokens] = randomPrompts(1, 40, 5);
    const cache = newKvCache(backend);
    const exits: Int32Array[] = Array.from({ length: L - 1 }, () => new Int32Array(tokens.length));
    const finals = new Int32Array(tokens.length);
    for (let start = 0; start < tokens.length; start += 16) {
      const chunk = tokens.slice(start, start + 16);
      const out = await backend.forward(0, L, backend.embed(chunk), cache, { output: 'ids' });
      assert.equal(out.exitIds?.length, (L - 1) * chunk.length);
      for (let e = 0; e < L - 1; e++) exits[e].set(out.exitIds!.subarray(e * chunk.length, (e + 1) * chunk.length), start);
      finals.set(out.ids, start);
    }
    for (let E = 1; E < L; E++) assert.deepEqual([...exits[E - 1]], [...(await draftChoices(tokens, E))], `exit ${E}`);
    const full = argmaxRows(await logitsAfterLayer(reference, tokens, L), checkpoint.config.vocabSize);
    assert.deepEqual([...finals], [...full]);
  });

  void it('measures agreement as the share of positions where exit and full model pick the same token', async () => {
    const windows = randomPrompts(2, 30, 9);
    await backend.arrange(everyExitPlan(L));
    const agreement = await measureExitAgreement(backend, windows, runAtOnce);
    assert.equal(agreement.positions, 60);
    for (let E = 1; E < L; E++) {
      let agreed = 0;
      for (const tokens of windows) {
        const draft = await draftChoices(tokens, E);
        const full = argmaxRows(await logitsAfterLayer(reference, tokens, L), checkpoint.config.vocabSize);
        agreed += draft.filter((id, i) => id === full[i]).length;
      }
      assert.equal(agreementRate(agreement, E), agreed / 60, `exit ${E}`);
    }
    assert.ok(agreementRate(agreement, L - 1) > agreementRate(agreement, 1), 'quiet late layers agree more');
  });
});

void test('speculation replayed over agreement: bursts accepted up to d, one full-model token a step', () => {
  const seq = Uint8Array.from([1, 1, 1, 0, 1, 0, 0, 1, 1]);
  // d=2, step by step (position: accepted drafts -> tokens emitted): 0: 2 -> 3 | 3: 0 -> 1 | 4: 1 -> 2 | 6: 0 -> 1 |
  // 7: 2 -> 2 (the window ends)
  assert.deepEqual(replaySpeculation([seq], 2), { steps: 5, tokens: 9 });
  // d=1: 0: 1 -> 2 | 2: 1 -> 2 | 4: 1 -> 2 | 6: 0 -> 1 | 7: 1 -> 2
  assert.deepEqual(replaySpeculation([seq], 1), { steps: 5, tokens: 9 });
  assert.deepEqual(replaySpeculation([seq], 3), { steps: 4, tokens: 9 }); // 0: 3 -> 4 | 4: 1 -> 2 | 6: 0 -> 1 | 7: 2 -> 2
  assert.deepEqual(replaySpeculation([Uint8Array.from([1, 1, 1, 1, 1, 1, 0])], 3), { steps: 2, tokens: 7 }, '4 + 3: the second step accepts 2 and corrects the third');
  assert.deepEqual(replaySpeculation([new Uint8Array(4)], 3), { steps: 4, tokens: 4 }, 'no agreement: one token a step');
  assert.deepEqual(replaySpeculation([Uint8Array.from([1, 1, 1, 1])], 8), { steps: 1, tokens: 4 }, 'a window ends a step');
});

const costs: StepCosts = {
  numLayers: 4,
  contextTokens: 100,
  fullTokenMs: 10,
  draft: { fixedMs: 0.5, perLayerMs: 2 },
  remainder: { rows: [2, 3, 5], lines: [{ fixedMs: 1, perLayerMs: 2 }, { fixedMs: 1.5, perLayerMs: 2.5 }, { fixedMs: 2, perLayerMs: 3 }] },
};

void test('step costs: verification interpolated between timed row counts, a step is drafts + exit pass + verification', () => {
  assert.equal(verifyRemainderMs(costs, 1, 2), 1 + 2 * 3);
  assert.equal(verifyRemainderMs(costs, 1, 4), (1.5 + 2.5 * 3 + 2 + 3 * 3) / 2);
  assert.equal(verifyRemainderMs(costs, 1, 7), 2 + 9 + (2 + 9 - (1.5 + 7.5)), 'extrapolated past the last timed count');
  assert.equal(speculativeStepMs(costs, 1, 1), 2 * 2.5 + 7);
  const agreement = { matches: [[Uint8Array.from([1, 1, 0, 1])], [new Uint8Array(4)], [Uint8Array.from([1, 1, 1, 1])]], positions: 4 };
  const predictions = predictSpeedups(agreement, costs, 2);
  const at = (E: number, d: number) => predictions.find((p) => p.exitLayer === E && p.draftLength === d)!;
  assert.equal(at(3, 2).tokensPerStep, 2, 'all agree: d + 1 a step, 4 positions in 2 steps');
  assert.equal(at(3, 2).speedup, (10 * 2) / speculativeStepMs(costs, 3, 2));
  assert.equal(at(2, 1).tokensPerStep, 1);
  const best = (E: number) => (at(E, 1).speedup >= at(E, 2).speedup ? at(E, 1) : at(E, 2));
  const [first, second] = [1, 2, 3].map(best).sort((a, b) => b.speedup - a.speedup);
  const runnerUp = at(first.exitLayer, first.draftLength === 1 ? 2 : 1);
  assert.deepEqual(candidates(predictions, 3), [first, second, runnerUp], 'the best d of the two best exit layers, and the best layer\'s other d');
  assert.deepEqual(candidates(predictions, 1), [first]);
});

void test('cost lines: least squares through the timed exit layers, never negative', () => {
  assert.deepEqual(fitLine([8, 15, 22], [4, 7.5, 11]), { fixedMs: 0, perLayerMs: 0.5 });
  const noisy = fitLine([8, 15, 22], [5, 8.1, 12]);
  assert.ok(Math.abs(noisy.perLayerMs - 0.5) < 0.01 && Math.abs(noisy.fixedMs - 0.9) < 0.1, JSON.stringify(noisy));
  const clamped = fitLine([8, 22], [2, 12]);
  assert.equal(clamped.fixedMs, 0, 'a line that would cross zero goes through the origin instead');
  assert.ok(clamped.perLayerMs > 0);
  assert.deepEqual(timedExitLayers(30), [8, 15, 23]);
  assert.deepEqual(timedExitLayers(2), [1]);
});

void test('the choice: the fastest timed setting, full decoding unless something beats it by MIN_GAIN', () => {
  const full: TimedSetting = { mode: 'full', exitLayer: null, draftLength: null, msPerToken: 10, speedup: 1 };
  const spec = (speedup: number, E = 4): TimedSetting => ({ mode: 'self-speculative', exitLayer: E, draftLength: 2, msPerToken: 10 / speedup, speedup });
  assert.equal(chooseSetting([spec(0.8), full]), full);
  assert.equal(chooseSetting([spec(MIN_GAIN - 0.01), full]), full, 'within noise of full decoding: full');
  const fast = spec(1.4, 6);
  assert.equal(chooseSetting([spec(1.2), fast, full]), fast);
});

void test('background work waits for quiet, and foreground work preempts the unit in flight', async () => {
  const gate = new BackgroundGate(50);
  const events: string[] = [];
  let unitSignal: AbortSignal | null = null;
  let releaseUnit = (): void => undefined;
  const unit = gate.background(async (signal) => {
    unitSignal = signal;
    events.push('unit start');
    await new Promise<void>((resolve) => (releaseUnit = resolve));
    events.push('unit end');
    return signal.aborted;
  });
  await new Promise((r) => setTimeout(r, 20));
  const foreground = gate.foreground(async () => void events.push('foreground'));
  assert.equal(unitSignal!.aborted, true, 'the unit learns at once that it was preempted');
  releaseUnit();
  await foreground;
  assert.equal(await unit, true);
  assert.deepEqual(events, ['unit start', 'unit end', 'foreground'], 'the foreground waited for the unit in flight only');
  const started = performance.now();
  await gate.background(async () => undefined);
  assert.ok(performance.now() - started >= 45, 'the next unit waited for the quiet period after the foreground work');
});

void test('the code sample: the user code first in windows, BOS in front, the bundled sample only when the user has little', () => {
  const tokenize = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));
  const long = 'x'.repeat(WINDOW_TOKENS + 300);
  const sample = codeSample([{ name: 'a', text: long }], { name: 'bundled', text: 'y'.repeat(5000) }, tokenize, 1, 1200);
  assert.deepEqual(sample.windows.map((w) => w.length), [WINDOW_TOKENS, 1200 - WINDOW_TOKENS]);
  assert.ok(sample.windows.every((w) => w[0] === 1 && w[1] === 120));
  assert.equal(sample.source, '1 file of yours');
  const short = codeSample([{ name: 'a', text: 'z'.repeat(100) }, { name: 'b', text: 'tiny' }], { name: 'bundled', text: 'y'.repeat(5000) }, tokenize, null, 2048);
  assert.equal(short.source, '1 file of yours + bundled', 'a tiny file is not a window; the bundled sample tops up');
  assert.ok(short.windows.reduce((n, w) => n + w.length, 0) > MIN_USER_TOKENS);
  assert.equal(codeSample([], null, tokenize, null).windows.length, 0);
});

void test('the store keeps a calibration per key and ignores other keys and broken files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-'));
  const store = new CalibrationStore(() => dir);
  const key = { model: 'abc', device: 'cpu', threads: 2, cpu: 'x' };
  const result = calibrationResult(8, [], { mode: 'full', exitLayer: null, draftLength: null, speedup: 1 });
  assert.equal(store.load(key), null);
  store.save(key, result);
  assert.deepEqual(store.load(key), result);
  assert.equal(store.load({ ...key, threads: 4 }), null);
  const other = new CalibrationStore(() => join(dir, 'missing'));
  assert.equal(other.load(key), null);
  writeFileSync(join(dir, 'garbage.json'), '{');
  assert.deepEqual(store.load(key), result);
});

void test('the operating point: auto is full until calibrated, then the choice; unset E and d come from the calibration', () => {
  const model: ModelSummary = { path: '/m', name: 'm', numLayers: 8, device: 'cpu', hasFim: true, recommendedExitLayer: 6, recommendedDraftLength: 3 };
  const auto = { ...DEFAULT_SETTINGS };
  assert.deepEqual(operatingPoint(auto, model, null), { mode: 'full', exitLayer: null, draftLength: null, engineOverrides: {}, source: 'uncalibrated', speedup: null, speedupBasis: null });
  const calibrated = calibrationResult(8, [{ mode: 'self-speculative', exitLayer: 3, draftLength: 2, speedup: 1.6 }, { mode: 'self-speculative', exitLayer: 4, draftLength: 2, speedup: 1.3 }], {
    mode: 'self-speculative',
    exitLayer: 3,
    draftLength: 2,
    speedup: 1.6,
  });
  assert.deepEqual(
    operatingPoint(auto, model, calibrated),
    { mode: 'self-speculative', exitLayer: 3, draftLength: 2, engineOverrides: { adaptiveDraft: false }, source: 'calibrated', speedup: 1.6, speedupBasis: 'measured' },
    'fixed drafts, as the calibration timed them',
  );
  const speculative = { ...auto, mode: 'self-speculative' as const };
  assert.equal(operatingPoint(speculative, model, null).exitLayer, 6, 'the recommendation before a calibration');
  assert.equal(operatingPoint(speculative, model, calibrated).exitLayer, 3);
  const mine = operatingPoint({ ...speculative, exitLayer: 7, draftLength: 1 }, model, calibrated);
  assert.equal(mine.source, 'settings');
  assert.deepEqual(mine.engineOverrides, {}, "the user's own mode decodes with the engine settings as they are");
  assert.equal(mine.speedupBasis, 'predicted');
  assert.ok(mine.speedup !== null && Math.abs(mine.speedup - (0.5 + 7 / 10)) < 1e-9);
  const fullChosen = calibrationResult(8, [], { mode: 'full', exitLayer: null, draftLength: null, speedup: 1 });
  assert.equal(operatingPoint(auto, model, fullChosen).mode, 'full');
  assert.equal(operatingPoint({ ...speculative, exitLayer: 12 }, model, null).exitLayer, 6, "another model's layer is ignored");
});

void test('the server runs one calibration at a time, keeps it, and a cancelled or replaced one no longer speaks', async () => {
  const sources = noCalibrations();
  const statuses: CalibrationStatus[] = [];
  const calibrations = new Calibrations(sources, (s) => statuses.push(s), () => undefined);
  const result = calibrationResult(8, [], { mode: 'full', exitLayer: null, draftLength: null, speedup: 1 });
  const pending: { resolve: (r: CalibrationResult) => void; reject: (e: Error) => void; signal: AbortSignal }[] = [];
  const target = fakeCalibrationTarget(
    (_request, { signal, onProgress }) =>
      new Promise((resolve, reject) => {
        onProgress({ phase: 'agreement', fraction: 0.25 });
        pending.push({ resolve, reject, signal });
      }),
  );
  calibrations.modelReady(target, false);
  assert.equal(calibrations.current.state, 'none', 'nothing stored, nothing started');
  const first = calibrations.start();
  assert.equal(calibrations.start(), first, 'a second request joins the running calibration');
  assert.deepEqual(calibrations.current.progress, { phase: 'agreement', fraction: 0.25 });
  calibrations.cancel();
  assert.equal(pending[0].signal.aborted, true);
  assert.deepEqual([calibrations.current.state, calibrations.current.message], ['none', 'cancelled']);
  pending[0].reject(new Error('aborted'));
  await assert.rejects(first);
  assert.equal(calibrations.current.message, 'cancelled', 'the cancelled run does not overwrite the status');
  const second = calibrations.start();
  pending[1].resolve(result);
  assert.equal(await second, result);
  assert.equal(calibrations.current.state, 'done');
  assert.deepEqual(sources.store.load(target.key), result, 'kept for the next start');
  calibrations.modelReady(target, true);
  assert.deepEqual([calibrations.current.state, pending.length], ['done', 2], 'the stored calibration is reused, none runs');
  assert.ok(statuses.some((s) => s.state === 'running'));
});

void test('a calibration that would not fit in free memory is refused with the figures', () => {
  const GiB = 2 ** 30;
  assert.doesNotThrow(() => checkMemory(1 * GiB, 8 * GiB));
  assert.throws(() => checkMemory(4 * GiB, 5 * GiB), /not enough free memory to calibrate.*~5\.2 GiB.*5\.0 GiB is free/);
});

void test('a calibration that cannot be kept (read-only storage) still applies, and says why it was not kept', async () => {
  const blocked = join(mkdtempSync(join(tmpdir(), 'store-')), 'a-file');
  writeFileSync(blocked, 'not a folder');
  const calibrations = new Calibrations({ store: new CalibrationStore(() => join(blocked, 'calibrations')), texts: () => [], bundled: null }, () => undefined, () => undefined);
  const result = calibrationResult(8, [], { mode: 'full', exitLayer: null, draftLength: null, speedup: 1 });
  calibrations.modelReady(fakeCalibrationTarget(() => Promise.resolve(result)), false);
  assert.equal(await calibrations.start(), result);
  await new Promise((r) => setImmediate(r));
  assert.equal(calibrations.current.state, 'done');
  assert.equal(calibrations.current.result, result);
  assert.match(calibrations.current.message, /not kept for the next start/);
});
