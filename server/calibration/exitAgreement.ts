// How often each exit layer's draft agrees with the full model, teacher-forced on the user's code: one pass of the
// whole model over the text gives every exit at once (the plan's everyExit output: the draft head's argmax after each
// layer, next to the full head's). A position "agrees" at exit E when the draft head after layer E picks the token
// the full model picks there: a greedy draft of that position would be accepted.
import { everyExitPlan, type LayerBackend } from '../backend/layerBackend.js';
import { newKvCache } from '../backend/kvCache.js';
import type { RunUnit } from './backgroundGate.js';

/** Rows per pass: small, so that a completion waits at most one pass (~50-100 ms on a small model). */
export const AGREEMENT_CHUNK = 16;

export interface ExitAgreement {
  /** matches[E - 1][w][t]: 1 when exit E agrees with the full model on the token after position t of window w. */
  matches: Uint8Array[][];
  /** Positions measured (predictions scored) over all windows. */
  positions: number;
}

/** The fraction of positions where exit E agrees with the full model (1-based E). */
export function agreementRate(agreement: ExitAgreement, exitLayer: number): number {
  if (agreement.positions === 0) return 0;
  let agreed = 0;
  for (const window of agreement.matches[exitLayer - 1]) for (const m of window) agreed += m;
  return agreed / agreement.positions;
}

/**
 * Runs each window of token ids (each with its own cache, from position 0) through the model in chunks and scores
 * every position's prediction against the full model's (not against the text). `onChunk` reports the fraction done.
 */
export async function measureExitAgreement(
  backend: LayerBackend,
  windows: readonly (readonly number[])[],
  runUnit: RunUnit,
  onChunk: (fraction: number) => void = () => {},
): Promise<ExitAgreement> {
  const L = backend.config.numLayers;
  await backend.arrange(everyExitPlan(L));
  const matches = Array.from({ length: L - 1 }, () => windows.map((w) => new Uint8Array(w.length)));
  const total = windows.reduce((n, w) => n + w.length, 0);
  let done = 0;
  for (const [w, window] of windows.entries()) {
    const cache = newKvCache(backend);
    cache.reserve(window.length);
    for (let start = 0; start < window.length; start += AGREEMENT_CHUNK) {
      const chunk = window.slice(start, start + AGREEMENT_CHUNK);
      // a pass writes the cache: a preempted pass has run to its end all the same, so it is kept (never re-run)
      const out = await runUnit(() => backend.forward(0, L, backend.embed(chunk), cache, { output: 'ids' }));
      const exits = out.exitIds;
      if (exits === null) throw new Error('the backend did not report the exits of a calibration pass');
      for (let e = 0; e < L - 1; e++) {
        for (let s = 0; s < chunk.length; s++) matches[e][w][start + s] = exits[e * chunk.length + s] === out.ids[s] ? 1 : 0;
      }
      done += chunk.length;
      onChunk(done / total);
    }
  }
  return { matches, positions: total };
}
