// What the status bar says, as plain text (no vscode import, so it is unit-tested): the latency of the last
// suggestion, the operating point and its speedup over full decoding measured by the calibration on this device
// ("⚡ 180 ms · E6 d4 · 1.8×"), "full" when full decoding is the fastest, and a warning when the user's own setting is
// slower than full decoding.
import type { CalibrationStatus, CompletionStats, OperatingPoint } from '../server/protocol.js';

export interface StatusText {
  text: string;
  /** The operating point is measured or predicted to be slower than full decoding. */
  slower: boolean;
}

/** "full", "E6 d4", "E6 early exit", "remote". */
export function pointLabel(point: Pick<OperatingPoint, 'mode' | 'exitLayer' | 'draftLength'> & { source?: OperatingPoint['source'] }): string {
  if (point.source === 'remote') return 'remote';
  if (point.mode === 'full') return 'full';
  if (point.mode === 'early-exit') return `E${point.exitLayer} early exit`;
  return `E${point.exitLayer} d${point.draftLength}`;
}

export function isSlower(point: OperatingPoint | null): boolean {
  return point !== null && point.speedup !== null && point.speedup < 1 && point.mode !== 'full';
}

export function statusText(last: CompletionStats | null, point: OperatingPoint | null, calibration: CalibrationStatus): StatusText {
  const items: string[] = [];
  if (point !== null) {
    items.push(pointLabel(point));
    // full decoding is the reference: no ratio to show
    if (point.mode !== 'full' && point.speedup !== null) items.push(`${point.speedup.toFixed(point.speedup < 10 ? 1 : 0)}×${isSlower(point) ? ' slower' : ''}`);
  }
  if (calibration.state === 'running') items.push(`calibrating ${Math.round((calibration.progress?.fraction ?? 0) * 100)}%`);
  const text = last !== null ? [`⚡ ${last.latencyMs.toFixed(0)} ms`, ...items].join(' · ') : items.length > 0 ? `⚡ ${items.join(' · ')}` : '⚡ LayerSkip';
  return { text, slower: isSlower(point) };
}

/** The tooltip's paragraph on the operating point: what it is, where it comes from, and what would help. */
export function pointExplanation(point: OperatingPoint, calibration: CalibrationStatus): string {
  const result = calibration.result;
  const bestAgreement = result === null ? null : Math.max(...result.layers.map((l) => l.agreement));
  switch (point.source) {
    case 'uncalibrated':
      return calibration.state === 'running'
        ? 'Full decoding while the model is being calibrated on this device; the fastest setting it measures applies when it ends.'
        : 'Full decoding: this model is not calibrated on this device yet (LayerSkip: Calibrate Now).';
    case 'calibrated':
      if (point.mode === 'full') {
        return (
          'Full decoding: on this device no early-exit setting is faster for this model' +
          (bestAgreement === null ? '' : ` (its best exit layer agrees with the full model on ${Math.round(bestAgreement * 100)}% of your code)`) +
          '. The model is not trained for early exit; a LayerSkip checkpoint (LayerSkip: Download Model) drafts far better.'
        );
      }
      return `The calibrated setting: ${describeSpeedup(point)}.`;
    case 'recommended':
      return `The model package's recommended setting, not calibrated on this device: ${describeSpeedup(point)}.`;
    case 'remote':
      return 'A remote server generates (layerskip.remoteUrl), decoding as it is configured there; the prompt is built here.';
    case 'settings':
      return isSlower(point)
        ? `Your setting is slower than full decoding on this device: ${describeSpeedup(point)}. LayerSkip: Use the Calibrated Setting picks the fastest one.`
        : `Your setting: ${describeSpeedup(point)}.`;
  }
}

function describeSpeedup(point: OperatingPoint): string {
  const label = point.mode === 'full' ? 'full decoding' : pointLabel(point);
  if (point.speedup === null) return `${label}, speed not measured`;
  return `${label}, ${point.speedup.toFixed(2)}× full decoding (${point.speedupBasis === 'measured' ? 'measured' : 'predicted'} by the calibration)`;
}
