// The predicted speedup of every (E, d) over full decoding, from the measured agreement and step costs. Drafts of code
// are accepted in bursts (all of a repetitive stretch, none of a novel one), so acceptance is not modelled as
// independent per token: greedy speculation with d drafts is replayed over the measured agreement sequence itself.
import { agreementRate, type ExitAgreement } from './exitAgreement.js';
import { draftTokenMs, speculativeStepMs, type StepCosts } from './stepCosts.js';

/** Longest draft the calibration predicts for. */
export const MAX_CALIBRATED_DRAFT = 12;

export interface Prediction {
  exitLayer: number;
  draftLength: number;
  /** Tokens emitted per step in the replay (accepted drafts + the full model's one). */
  tokensPerStep: number;
  /** Predicted ms per emitted token. */
  msPerToken: number;
  /** Full-decoding ms per token over msPerToken. */
  speedup: number;
}

export interface Replay {
  steps: number;
  tokens: number;
}

/**
 * Greedy speculation with d drafts over agreement sequences: a step at position t accepts drafts while the draft
 * agrees (at most d), then emits the full model's token; the next step starts after it.
 */
export function replaySpeculation(windows: readonly Uint8Array[], draftLength: number): Replay {
  let steps = 0, tokens = 0;
  for (const matches of windows) {
    for (let t = 0; t < matches.length; ) {
      let accepted = 0;
      while (accepted < draftLength && t + accepted < matches.length && matches[t + accepted] === 1) accepted++;
      const emitted = Math.min(accepted + 1, matches.length - t);
      steps += 1;
      tokens += emitted;
      t += emitted;
    }
  }
  return { steps, tokens };
}

export function predictSpeedups(agreement: ExitAgreement, costs: StepCosts, maxDraft = MAX_CALIBRATED_DRAFT): Prediction[] {
  const predictions: Prediction[] = [];
  for (let E = 1; E < costs.numLayers; E++) {
    for (let d = 1; d <= maxDraft; d++) {
      const { steps, tokens } = replaySpeculation(agreement.matches[E - 1], d);
      const tokensPerStep = steps === 0 ? 1 : tokens / steps;
      const msPerToken = speculativeStepMs(costs, E, d) / tokensPerStep;
      predictions.push({ exitLayer: E, draftLength: d, tokensPerStep, msPerToken, speedup: costs.fullTokenMs / msPerToken });
    }
  }
  return predictions;
}

/** Per exit layer: agreement and the predicted cost of a drafted token. */
export function layerTable(agreement: ExitAgreement, costs: StepCosts): { exitLayer: number; agreement: number; draftTokenMs: number }[] {
  return Array.from({ length: costs.numLayers - 1 }, (_, i) => ({
    exitLayer: i + 1,
    agreement: agreementRate(agreement, i + 1),
    draftTokenMs: draftTokenMs(costs, i + 1),
  }));
}

/** Per exit layer, its fastest predicted setting (the best d). */
export function bestPerExitLayer<T extends { exitLayer: number; speedup: number }>(predictions: readonly T[]): Map<number, T> {
  const best = new Map<number, T>();
  for (const p of predictions) {
    const known = best.get(p.exitLayer);
    if (known === undefined || p.speedup > known.speedup) best.set(p.exitLayer, p);
  }
  return best;
}

/**
 * The settings to time by real generation, `count` of them: the best d of each of the best count - 1 exit layers, and
 * the runner-up d at the best exit layer (a hedge: a draft cost predicted a little high or low moves the best d first);
 * without a runner-up (d up to 1), the next exit layer's best instead.
 */
export function candidates(predictions: readonly Prediction[], count: number): Prediction[] {
  const layers = [...bestPerExitLayer(predictions).values()].sort((a, b) => b.speedup - a.speedup);
  if (layers.length === 0 || count < 1) return [];
  const chosen = layers.slice(0, Math.max(1, count - 1));
  if (chosen.length === count) return chosen;
  const top = chosen[0];
  const runnerUp = predictions
    .filter((p) => p.exitLayer === top.exitLayer && p.draftLength !== top.draftLength)
    .reduce<Prediction | null>((a, b) => (a === null || b.speedup > a.speedup ? b : a), null);
  const extra = runnerUp ?? layers[chosen.length];
  return extra === undefined ? chosen : [...chosen, extra];
}
