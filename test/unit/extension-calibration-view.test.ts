// What the user sees of a calibration: the status bar text, the charts and the panel's page (pure parts of extension/).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreementChart, bestDraftPerLayer, speedupChart } from '../../extension/calibrationChart.js';
import { calibrationPage } from '../../extension/calibrationPage.js';
import { pointExplanation, statusText } from '../../extension/statusText.js';
import type { CalibrationStatus, CompletionStats, OperatingPoint } from '../../server/protocol.js';
import { calibrationResult } from './calibration-fixtures.js';

const chosen = { mode: 'self-speculative' as const, exitLayer: 6, draftLength: 2, speedup: 1.8 };
const result = calibrationResult(12, [chosen, { mode: 'self-speculative', exitLayer: 5, draftLength: 3, speedup: 1.4 }], chosen);
const done: CalibrationStatus = { state: 'done', progress: null, result, message: '' };
const last = { latencyMs: 180.4 } as CompletionStats;
const point = (p: Partial<OperatingPoint>): OperatingPoint => ({ mode: 'self-speculative', exitLayer: 6, draftLength: 2, engineOverrides: {}, source: 'calibrated', speedup: 1.8, speedupBasis: 'measured', ...p });

void test('the status bar shows latency, the operating point and its calibrated speedup, or full', () => {
  assert.deepEqual(statusText(last, point({}), done), { text: '⚡ 180 ms · E6 d2 · 1.8×', slower: false });
  const full = point({ mode: 'full', exitLayer: null, draftLength: null, speedup: 1 });
  assert.equal(statusText(last, full, done).text, '⚡ 180 ms · full');
  assert.equal(statusText(null, full, done).text, '⚡ full');
  assert.equal(statusText(null, null, done).text, '⚡ LayerSkip');
  const running: CalibrationStatus = { state: 'running', progress: { phase: 'costs', fraction: 0.42 }, result: null, message: '' };
  assert.equal(statusText(last, point({ mode: 'full', exitLayer: null, draftLength: null, source: 'uncalibrated', speedup: null }), running).text, '⚡ 180 ms · full · calibrating 42%');
});

void test("a user's setting slower than full decoding says so, and the tooltip offers the calibrated one", () => {
  const slow = point({ exitLayer: 28, draftLength: 1, source: 'settings', speedup: 0.63, speedupBasis: 'predicted' });
  assert.deepEqual(statusText(last, slow, done), { text: '⚡ 180 ms · E28 d1 · 0.6× slower', slower: true });
  assert.match(pointExplanation(slow, done), /slower than full decoding.*0\.63×.*predicted.*Use the Calibrated Setting/);
  const full = point({ mode: 'full', exitLayer: null, draftLength: null, speedup: 1 });
  assert.match(pointExplanation(full, done), /no early-exit setting is faster.*agrees with the full model on \d+%.*LayerSkip checkpoint/);
});

void test('the charts draw every exit layer and every (E, d), mark the timed settings and outline the chosen one', () => {
  const bars = agreementChart(result);
  assert.equal(bars.match(/class="bar"/g)?.length, 11);
  assert.match(bars, /E6: agrees with the full model on 50\.0%/);
  const heat = speedupChart(result);
  assert.equal(heat.match(/class="cell"/g)?.length, result.predicted.length);
  assert.equal(heat.match(/class="timed"/g)?.length, 2);
  assert.equal(heat.match(/class="chosen"/g)?.length, 1);
  assert.match(heat, /data-exit-layer="6" data-draft-length="2"/);
  assert.match(heat, /var\(--vscode-charts-green/);
  assert.match(heat, /chosen: E6 d2, 1\.80× full decoding/);
  assert.deepEqual(bestDraftPerLayer(result).get(6), { draftLength: 2, speedup: 1.8, basis: 'measured' });
  const fullChosen = calibrationResult(12, [], { mode: 'full', exitLayer: null, draftLength: null, speedup: 1 });
  assert.doesNotMatch(speedupChart(fullChosen), /class="chosen"/);
  assert.match(speedupChart(fullChosen), /nothing beats full decoding/);
});

void test('the panel page: strict CSP with its nonce, escaped text, a Use button per timed setting', () => {
  const page = calibrationPage({ ...done, result: { ...result, model: '<script>alert(1)</script>' } }, 'N0NCE');
  assert.match(page, /script-src 'nonce-N0NCE'/);
  assert.match(page, /<script nonce="N0NCE">/);
  assert.doesNotMatch(page, /<script>alert/);
  assert.equal(page.match(/>Use</g)?.length, 3);
  const none = calibrationPage({ state: 'none', progress: null, result: null, message: '' }, 'n');
  assert.match(none, /not been calibrated.*\n?.*data-action="calibrate"/);
});
