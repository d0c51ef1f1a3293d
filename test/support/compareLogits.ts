// Comparisons of logits [positions, vocab] against an oracle's.
import assert from 'node:assert/strict';

export interface LogitsComparison {
  /** max |actual - expected| / max |expected| */
  relativeError: number;
  absoluteError: number;
  positions: number;
  /** positions whose argmax equals the oracle's */
  top1Agree: number;
  /** positions whose argmax differs although the oracle's top-1 margin exceeds 2x the absolute error */
  top1ClearDisagree: number;
}

function top2(row: Float32Array): { best: number; margin: number } {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  let second = -Infinity;
  for (let v = 0; v < row.length; v++) if (v !== best) second = Math.max(second, row[v]);
  return { best, margin: row[best] - second };
}

export function compareLogits(actual: Float32Array, expected: Float32Array, vocab: number): LogitsComparison {
  assert.equal(actual.length, expected.length, 'logits shapes differ');
  let absoluteError = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    absoluteError = Math.max(absoluteError, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  const positions = actual.length / vocab;
  let top1Agree = 0;
  let top1ClearDisagree = 0;
  for (let p = 0; p < positions; p++) {
    const a = top2(actual.subarray(p * vocab, (p + 1) * vocab));
    const e = top2(expected.subarray(p * vocab, (p + 1) * vocab));
    if (a.best === e.best) top1Agree++;
    else if (e.margin > 2 * absoluteError) top1ClearDisagree++;
  }
  return { relativeError: absoluteError / scale, absoluteError, positions, top1Agree, top1ClearDisagree };
}
