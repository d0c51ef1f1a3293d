// What decoding steps cost on this device, measured on the model's own sessions, as a linear model in the exit layer:
//   draft token at E          = draft.fixedMs + draft.perLayerMs * E                 (layers [0, E) + the draft head)
//   verification of r rows    = remainder.fixedMs[r] + remainder.perLayerMs[r] * (L - E)   (layers [E, L) + full head)
//   full token                = measured directly (layers [0, L) + the full head, one call)
// Three exit layers are measured and least-squares lines fitted through them: call overhead and the heads are the
// fixed parts, the layers the slope (a third point halves the damage one noisy timing does to the slope). Every figure
// is the median of several timed calls after a warm-up, at a context as long as a completion's prompt, with the cache
// rolled back after each call.
import { planFor, type LayerBackend } from '../backend/layerBackend.js';
import { newKvCache, type KvCache } from '../backend/kvCache.js';
import type { RunUnit } from './backgroundGate.js';
import { median } from './median.js';

/** Rows of a verification pass that are timed (d + 1 for drafts d = 1, 2, 4, 8, 12); others are interpolated. */
export const VERIFY_ROWS = [2, 3, 5, 9, 13];
export const TIMED_CALLS = 9;
const WARMUP_CALLS = 2;
const PREFILL_CHUNK = 64;

export interface Line {
  fixedMs: number;
  perLayerMs: number;
}

export interface StepCosts {
  numLayers: number;
  /** Context the calls ran at (cached positions). */
  contextTokens: number;
  fullTokenMs: number;
  draft: Line;
  /** One line per entry of `rows`. */
  remainder: { rows: number[]; lines: Line[] };
}

export function draftTokenMs(costs: StepCosts, exitLayer: number): number {
  return costs.draft.fixedMs + costs.draft.perLayerMs * exitLayer;
}

/** Layers [E, L) + the full head over `rows` rows, interpolated between the timed row counts. */
export function verifyRemainderMs(costs: StepCosts, exitLayer: number, rows: number): number {
  const { rows: timed, lines } = costs.remainder;
  const at = (i: number): number => lines[i].fixedMs + lines[i].perLayerMs * (costs.numLayers - exitLayer);
  if (rows <= timed[0]) return at(0);
  for (let i = 1; i < timed.length; i++) {
    if (rows <= timed[i]) return at(i - 1) + ((at(i) - at(i - 1)) * (rows - timed[i - 1])) / (timed[i] - timed[i - 1]);
  }
  const last = timed.length - 1;
  return at(last) + ((at(last) - at(last - 1)) * (rows - timed[last])) / (timed[last] - timed[last - 1]);
}

/**
 * One self-speculative step with d drafts: d draft tokens, the last draft through [0, E) without a head (about a draft
 * token), and layers [E, L) over d + 1 rows with the full head.
 */
export function speculativeStepMs(costs: StepCosts, exitLayer: number, draftLength: number): number {
  return (draftLength + 1) * draftTokenMs(costs, exitLayer) + verifyRemainderMs(costs, exitLayer, draftLength + 1);
}

/** The exit layers whose costs are timed: a quarter, half and three quarters of the way up (distinct ones only). */
export function timedExitLayers(numLayers: number): number[] {
  const at = (fraction: number): number => Math.min(numLayers - 1, Math.max(1, Math.round(numLayers * fraction)));
  return [...new Set([at(0.25), at(0.5), at(0.75)])];
}

/** The least-squares line through (x, y) points, its intercept and slope kept >= 0 (costs are never negative). */
export function fitLine(xs: readonly number[], ys: readonly number[]): Line {
  const n = xs.length;
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  const sxx = xs.reduce((a, x) => a + (x - meanX) ** 2, 0);
  if (sxx === 0) return { fixedMs: 0, perLayerMs: meanY / meanX };
  const slope = Math.max(0, xs.reduce((a, x, i) => a + (x - meanX) * (ys[i] - meanY), 0) / sxx);
  const fixedMs = meanY - slope * meanX;
  return fixedMs >= 0 ? { fixedMs, perLayerMs: slope } : { fixedMs: 0, perLayerMs: ys.reduce((a, y, i) => a + y * xs[i], 0) / xs.reduce((a, x) => a + x * x, 0) };
}

export async function measureStepCosts(backend: LayerBackend, context: readonly number[], runUnit: RunUnit): Promise<StepCosts> {
  const L = backend.config.numLayers;
  if (L < 2) throw new RangeError('a model needs at least 2 layers to have an exit layer');
  const C = context.length;
  const token = [context[C - 1]];

  await backend.arrange(planFor('full', L, L));
  let cache = await prefilled(backend, context, [[0, L]], runUnit);
  const fullTokenMs = await medianMs(runUnit, cache, C, () => backend.forward(0, L, backend.embed(token), cache, { output: 'ids' }));

  const exits = timedExitLayers(L);
  const draftAt: number[] = [];
  const remainderAt: number[][] = [];
  for (const E of exits) {
    await backend.arrange(planFor('self-speculative', E, L));
    cache = await prefilled(backend, context, [[0, E], [E, L]], runUnit);
    draftAt.push(await medianMs(runUnit, cache, C, () => backend.forward(0, E, backend.embed(token), cache, { output: 'ids' })));
    const perRows: number[] = [];
    for (const rows of VERIFY_ROWS) {
      const block = context.slice(C - rows).concat(Array(Math.max(0, rows - C)).fill(context[0]));
      perRows.push(
        await medianMs(runUnit, cache, C, async () => {
          const exit = await backend.forward(0, E, backend.embed(block), cache);
          const started = performance.now();
          await backend.forward(E, L, exit.hidden, cache, { output: 'ids' });
          return performance.now() - started;
        }),
      );
    }
    remainderAt.push(perRows);
  }
  return {
    numLayers: L,
    contextTokens: C,
    fullTokenMs,
    draft: fitLine(exits, draftAt),
    remainder: {
      rows: VERIFY_ROWS,
      lines: VERIFY_ROWS.map((_, i) => fitLine(exits.map((E) => L - E), remainderAt.map((perRows) => perRows[i]))),
    },
  };
}

/** A new cache holding `context` in the given runs of layers (the arranged segments). */
async function prefilled(backend: LayerBackend, context: readonly number[], runs: [number, number][], runUnit: RunUnit): Promise<KvCache> {
  const cache = newKvCache(backend);
  cache.reserve(context.length + VERIFY_ROWS[VERIFY_ROWS.length - 1] + 1);
  for (let start = 0; start < context.length; start += PREFILL_CHUNK) {
    const chunk = context.slice(start, start + PREFILL_CHUNK);
    await runUnit(async () => {
      let hidden = backend.embed(chunk);
      for (const [from, to] of runs) hidden = (await backend.forward(from, to, hidden, cache)).hidden;
    });
  }
  return cache;
}

/**
 * The median time of `call` (its own figure when it returns one, else its wall time), each call one unit of work
 * followed by a rollback of the cache to `length`; a call that foreground work preempted is timed again.
 */
async function medianMs(runUnit: RunUnit, cache: KvCache, length: number, call: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  while (times.length < WARMUP_CALLS + TIMED_CALLS) {
    const ms = await runUnit(async (signal) => {
      const started = performance.now();
      const own = await call();
      const wall = performance.now() - started;
      cache.truncate(length);
      return signal.aborted ? null : typeof own === 'number' ? own : wall;
    });
    if (ms !== null) times.push(ms);
  }
  return median(times.slice(WARMUP_CALLS));
}
