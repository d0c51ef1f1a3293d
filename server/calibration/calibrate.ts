// Calibration: which decoding setting is fastest for this model, on this device, on the user's code. Three measurements
// and a choice:
//  1. agreement of every exit layer with the full model, teacher-forced on the code sample, in one pass;
//  2. the costs of drafted tokens, verification passes and full tokens on this device;
//  3. the predicted speedup of every (E, d) from those (speedupModel.ts), then real generation of the best few
//     predicted settings and of full decoding, interleaved, on prompts cut from the sample.
// The choice is the fastest measured setting, and full decoding whenever no setting beats it by MIN_GAIN: a setting
// within noise of full decoding is not worth its risk of being slower.
import type { LayerBackend } from '../backend/layerBackend.js';
import { Engine } from '../engine/engine.js';
import type { TextCodec } from '../engine/tokenizer.js';
import type { CalibrationProgress, CalibrationResult, TimedSetting } from '../protocol.js';
import type { RunUnit } from './backgroundGate.js';
import { measureExitAgreement } from './exitAgreement.js';
import { median } from './median.js';
import { candidates, layerTable, predictSpeedups } from './speedupModel.js';
import { measureStepCosts } from './stepCosts.js';

/** Settings timed by generation besides full decoding. */
export const TIMED_CANDIDATES = 3;
/** A speculative setting must beat full decoding by this factor to be chosen. */
export const MIN_GAIN = 1.03;
const TIMING_PROMPTS = 3;
const TIMING_PROMPT_TOKENS = 384;
const TIMING_NEW_TOKENS = 32;
const TIMING_ROUNDS = 2;
/** Context the step costs are timed at: about a completion prompt's. */
const COST_CONTEXT_TOKENS = 768;

export interface CalibrationInput {
  /** A backend for the calibration alone: its plan changes many times, and completions must not see that. */
  backend: LayerBackend;
  codec: TextCodec;
  /** The sample, tokenized: windows of consecutive tokens, each run from position 0. */
  windows: number[][];
  sampleSource: string;
  identity: Pick<CalibrationResult, 'model' | 'device' | 'threads' | 'cpu'>;
  /** How a unit of work runs: at once (CLI), or behind completions (the server's BackgroundGate). */
  runUnit: RunUnit;
  /** Cancels the whole calibration (it rejects with an AbortError). */
  signal?: AbortSignal;
  onProgress?: (progress: CalibrationProgress) => void;
}

/** Share of the whole calibration's time each phase takes, roughly (for the progress bar). */
const PHASE_SHARE = { agreement: [0, 0.5], costs: [0.5, 0.7], timing: [0.7, 1] } as const;

export async function calibrate(input: CalibrationInput): Promise<CalibrationResult> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const { backend, windows, signal } = input;
  if (windows.length === 0 || windows.every((w) => w.length < 2)) throw new RangeError('the calibration sample is empty');
  const runUnit: RunUnit = (work) => {
    signal?.throwIfAborted();
    return input.runUnit(work);
  };
  const progress = (phase: CalibrationProgress['phase'], fraction: number): void => {
    const [from, to] = PHASE_SHARE[phase];
    input.onProgress?.({ phase, fraction: from + (to - from) * fraction });
  };

  const agreement = await measureExitAgreement(backend, windows, runUnit, (f) => progress('agreement', f));
  const longest = windows.reduce((a, b) => (b.length > a.length ? b : a));
  progress('costs', 0);
  const costs = await measureStepCosts(backend, longest.slice(0, COST_CONTEXT_TOKENS), runUnit);
  const predictions = predictSpeedups(agreement, costs);
  progress('timing', 0);
  const measured = await timeByGeneration(input, runUnit, candidates(predictions, TIMED_CANDIDATES), (f) => progress('timing', f));

  const chosen = chooseSetting(measured);
  const cpu = process.cpuUsage(cpuStart);
  return {
    ...input.identity,
    createdAt: new Date().toISOString(),
    numLayers: backend.config.numLayers,
    sample: { source: input.sampleSource, tokens: agreement.positions, windows: windows.length },
    fullTokenMs: costs.fullTokenMs,
    layers: layerTable(agreement, costs),
    predicted: predictions.map(({ exitLayer, draftLength, tokensPerStep, speedup }) => ({ exitLayer, draftLength, tokensPerStep, speedup })),
    measured,
    chosen,
    durationMs: performance.now() - started,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** The fastest timed setting, or full decoding (which `measured` must hold) unless a setting beats it by MIN_GAIN. */
export function chooseSetting(measured: readonly TimedSetting[]): TimedSetting {
  const full = measured.find((m) => m.mode === 'full');
  if (full === undefined) throw new Error('full decoding was not timed');
  const fastest = measured.reduce((a, b) => (b.msPerToken < a.msPerToken ? b : a));
  return fastest.mode !== 'full' && fastest.speedup >= MIN_GAIN ? fastest : full;
}

/**
 * Greedy generation from prompts cut from the sample, for each candidate and full decoding, in interleaved rounds
 * (A B C full, then full C B A: a drift of the machine's speed hits every setting alike, and neighbours share their
 * sessions). ms per token counts decoding only (prefill excluded), the median of the setting's generations; a
 * generation preempted by a completion is run again.
 */
async function timeByGeneration(
  input: CalibrationInput,
  runUnit: RunUnit,
  predicted: readonly { exitLayer: number; draftLength: number }[],
  onProgress: (fraction: number) => void,
): Promise<TimedSetting[]> {
  const engine = new Engine({ backend: input.backend, codec: input.codec, device: input.identity.device });
  const prompts = timingPrompts(input.windows);
  const settings: Omit<TimedSetting, 'msPerToken' | 'speedup'>[] = [
    ...predicted.map(({ exitLayer, draftLength }) => ({ mode: 'self-speculative' as const, exitLayer, draftLength })),
    { mode: 'full', exitLayer: null, draftLength: null },
  ];
  // ms per token of each generation: the median over prompts and rounds is the setting's figure, so that one
  // generation slowed by another process on the machine does not decide
  const samples: number[][] = settings.map(() => []);
  const runs = TIMING_ROUNDS * settings.length * prompts.length;
  let done = 0;
  for (let round = 0; round < TIMING_ROUNDS; round++) {
    const order = settings.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const { mode, exitLayer, draftLength } = settings[i];
      for (const prompt of prompts) {
        const params = { mode, maxNewTokens: TIMING_NEW_TOKENS, temperature: 0, adaptiveDraft: false, ...(exitLayer === null ? {} : { exitLayer }), ...(draftLength === null ? {} : { draftLength }) };
        for (;;) {
          const result = await runUnit((signal) => engine.generate(prompt, params, { signal }));
          if (result.stopReason === 'cancelled') continue;
          if (result.stats.generatedTokens > 0) samples[i].push((result.stats.totalMs - result.stats.prefillMs) / result.stats.generatedTokens);
          break;
        }
        onProgress(++done / runs);
      }
    }
  }
  // a setting that generated nothing (the model ended every prompt at once) has no figure and is left out
  if (samples[settings.length - 1].length === 0) throw new Error('the model generated no token from any timing prompt');
  const fullMs = median(samples[settings.length - 1]);
  return settings.flatMap((s, i) => {
    if (samples[i].length === 0) return [];
    const msPerToken = median(samples[i]);
    return [{ ...s, msPerToken, speedup: fullMs / msPerToken }];
  });
}

/** Up to TIMING_PROMPTS prompts: the start of the longest windows, each long enough to leave context to complete. */
function timingPrompts(windows: readonly number[][]): number[][] {
  const longest = [...windows].sort((a, b) => b.length - a.length).slice(0, TIMING_PROMPTS);
  return longest.map((w) => w.slice(0, Math.max(1, Math.min(TIMING_PROMPT_TOKENS, w.length - 1))));
}
