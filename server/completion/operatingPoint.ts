// How completions decode, from the settings and the calibration: the user's explicit choices win; what they leave
// open comes from the calibration of this model on this device, else from the package's recommendation. Mode 'auto'
// decodes in full until a calibration has run: never slower than full decoding.
import type { CalibrationResult, EngineSettings, ModelSummary, OperatingPoint, ServerSettings, TimedSetting } from '../protocol.js';

/** How the calibration times its settings (calibrate.ts), so how its choice decodes. */
const CALIBRATED_ENGINE: Partial<EngineSettings> = { adaptiveDraft: false };

export function operatingPoint(settings: ServerSettings, model: ModelSummary, calibration: CalibrationResult | null): OperatingPoint {
  const L = model.numLayers;
  if (settings.mode === 'auto') {
    if (calibration === null) return point('full', null, null, 'uncalibrated', null);
    const { mode, exitLayer, draftLength } = calibration.chosen;
    return { ...point(mode, exitLayer, draftLength, 'calibrated', calibration), engineOverrides: CALIBRATED_ENGINE };
  }
  if (settings.mode === 'full') return point('full', null, null, 'settings', calibration);
  // a layer chosen for another model may not exist in this one: it is ignored there
  const userLayer = settings.exitLayer !== null && settings.exitLayer < L ? settings.exitLayer : null;
  const calibrated = calibration === null ? null : fastestSpeculative(calibration, userLayer);
  const exitLayer = userLayer ?? calibrated?.exitLayer ?? model.recommendedExitLayer;
  if (settings.mode === 'early-exit') return point('early-exit', exitLayer, null, userLayer === null ? 'recommended' : 'settings', null);
  const draftLength = settings.draftLength ?? calibrated?.draftLength ?? model.recommendedDraftLength;
  const source = userLayer !== null && settings.draftLength !== null ? 'settings' : calibrated !== null ? 'calibrated' : 'recommended';
  return point('self-speculative', exitLayer, draftLength, source, calibration);
}

/** The calibration's fastest self-speculative setting (at `exitLayer` when given): timed if any was, else predicted. */
function fastestSpeculative(calibration: CalibrationResult, exitLayer: number | null): { exitLayer: number; draftLength: number } | null {
  const fits = (s: { exitLayer: number | null }): boolean => exitLayer === null || s.exitLayer === exitLayer;
  const timed = calibration.measured.filter((m): m is TimedSetting & { exitLayer: number; draftLength: number } => m.mode === 'self-speculative' && fits(m));
  if (timed.length > 0) return timed.reduce((a, b) => (b.msPerToken < a.msPerToken ? b : a));
  const predicted = calibration.predicted.filter(fits);
  return predicted.length === 0 ? null : predicted.reduce((a, b) => (b.speedup > a.speedup ? b : a));
}

function point(
  mode: OperatingPoint['mode'],
  exitLayer: number | null,
  draftLength: number | null,
  source: OperatingPoint['source'],
  calibration: CalibrationResult | null,
): OperatingPoint {
  const { speedup, speedupBasis } = calibratedSpeedup(calibration, mode, exitLayer, draftLength);
  return { mode, exitLayer, draftLength, engineOverrides: {}, source, speedup, speedupBasis };
}

/** The calibration's speedup of a setting: timed when it was, else predicted; full decoding is 1 by definition. */
function calibratedSpeedup(
  calibration: CalibrationResult | null,
  mode: OperatingPoint['mode'],
  exitLayer: number | null,
  draftLength: number | null,
): Pick<OperatingPoint, 'speedup' | 'speedupBasis'> {
  if (calibration === null) return { speedup: null, speedupBasis: null };
  if (mode === 'full') return { speedup: 1, speedupBasis: 'measured' };
  const timed = calibration.measured.find((m) => m.mode === mode && m.exitLayer === exitLayer && m.draftLength === draftLength);
  if (timed) return { speedup: timed.speedup, speedupBasis: 'measured' };
  const predicted = mode === 'self-speculative' ? calibration.predicted.find((p) => p.exitLayer === exitLayer && p.draftLength === draftLength) : undefined;
  return predicted ? { speedup: predicted.speedup, speedupBasis: 'predicted' } : { speedup: null, speedupBasis: null };
}
