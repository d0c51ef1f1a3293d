// Calibration stand-ins for the completion layer's tests: a store in a fresh folder, a target whose calibration is
// scripted, and a calibration result of a given shape.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CalibrationStore } from '../../server/calibration/calibrationStore.js';
import type { Calibrate, CalibrationSources, CalibrationTarget } from '../../server/completion/calibrations.js';
import type { CalibrationResult, TimedSetting } from '../../server/protocol.js';

export function noCalibrations(): CalibrationSources {
  const dir = mkdtempSync(join(tmpdir(), 'calibrations-'));
  return { store: new CalibrationStore(() => dir), texts: () => [], bundled: null };
}

export function fakeCalibrationTarget(calibrate: Calibrate = () => Promise.reject(new Error('no calibration in this test'))): CalibrationTarget {
  return { calibrate, key: { model: 'fake', device: 'test', threads: 1, cpu: 'test' }, modelName: 'fake' };
}

/** A calibration of an L-layer model that timed `measured` (full decoding is added) and chose `chosen`. */
export function calibrationResult(numLayers: number, measured: Omit<TimedSetting, 'msPerToken'>[], chosen: Omit<TimedSetting, 'msPerToken'>): CalibrationResult {
  const timed = (s: Omit<TimedSetting, 'msPerToken'>): TimedSetting => ({ ...s, msPerToken: 10 / s.speedup });
  const full: TimedSetting = { mode: 'full', exitLayer: null, draftLength: null, msPerToken: 10, speedup: 1 };
  return {
    model: 'fake',
    device: 'test',
    threads: 1,
    cpu: 'test',
    createdAt: '2026-12-06T00:00:00.000Z',
    numLayers,
    sample: { source: 'test', tokens: 100, windows: 1 },
    fullTokenMs: 10,
    layers: Array.from({ length: numLayers - 1 }, (_, i) => ({ exitLayer: i + 1, agreement: (i + 1) / numLayers, draftTokenMs: i + 1 })),
    predicted: Array.from({ length: numLayers - 1 }, (_, i) => [1, 2, 3].map((d) => ({ exitLayer: i + 1, draftLength: d, tokensPerStep: 1 + d / 2, speedup: 0.5 + (i + d) / 10 }))).flat(),
    measured: [...measured.map(timed), full],
    chosen: chosen.mode === 'full' ? full : timed(chosen),
    durationMs: 1000,
    cpuSeconds: 2,
  };
}
