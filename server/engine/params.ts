/** Generation parameters: defaults and validation with messages a user can act on. */
import type { ModelConfig } from '../model/config.js';
import { DECODING_MODES, type DecodingMode } from '../protocol.js';
import { DEFAULT_CONFIDENCE_THRESHOLD } from './draftPolicy.js';

// declared once, in the protocol module (which imports nothing): the modes the editor offers are the engine's
export { DECODING_MODES, type DecodingMode };

export interface GenerationParams {
  mode: DecodingMode;
  /** E: layers [0, E) draft (self-speculative) or are all that runs (early-exit). */
  exitLayer: number;
  /** d: drafts per self-speculative step (the maximum, when adaptiveDraft). */
  draftLength: number;
  adaptiveDraft: boolean;
  /** Adaptive draft: stop drafting when the draft's probability of its token falls below this. */
  draftConfidenceThreshold: number;
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** 0 = no limit. */
  topK: number;
  /** 1 = no limit. */
  topP: number;
  seed: number;
  stopStrings: string[];
  timeBudgetMs: number | null;
  /** Token healing (tokenHealing.ts): text the generation must begin with, taken back from the prompt; not output. */
  healedText: string;
}

export const MAX_DRAFT_LENGTH = 64;

/** What the model package recommends (manifest `layerskip`), used when a request leaves E or d out. */
export interface Recommendations {
  exitLayer: number;
  draftLength: number;
}

export function defaultRecommendations(config: ModelConfig): Recommendations {
  return { exitLayer: Math.max(1, Math.floor(config.numLayers / 4)), draftLength: 6 };
}

export function resolveParams(
  partial: Partial<GenerationParams>,
  config: ModelConfig,
  recommended: Recommendations,
): GenerationParams {
  const params: GenerationParams = {
    mode: 'self-speculative',
    exitLayer: recommended.exitLayer,
    draftLength: recommended.draftLength,
    adaptiveDraft: false,
    draftConfidenceThreshold: DEFAULT_CONFIDENCE_THRESHOLD,
    maxNewTokens: 64,
    temperature: 0,
    topK: 0,
    topP: 1,
    seed: 0,
    stopStrings: [],
    timeBudgetMs: null,
    healedText: '',
    ...stripUndefined(partial),
  };
  const L = config.numLayers;
  check(DECODING_MODES.includes(params.mode), `mode must be one of ${DECODING_MODES.join(', ')} (got ${String(params.mode)})`);
  if (params.mode !== 'full') {
    const maxExit = params.mode === 'early-exit' ? L : L - 1;
    check(isIntegerIn(params.exitLayer, 1, maxExit), `exitLayer must be an integer in [1, ${maxExit}] for ${params.mode} on a ${L}-layer model (got ${params.exitLayer})`);
  }
  check(isIntegerIn(params.draftLength, 1, MAX_DRAFT_LENGTH), `draftLength must be an integer in [1, ${MAX_DRAFT_LENGTH}] (got ${params.draftLength})`);
  check(params.draftConfidenceThreshold >= 0 && params.draftConfidenceThreshold <= 1, `draftConfidenceThreshold must be in [0, 1] (got ${params.draftConfidenceThreshold})`);
  check(isIntegerIn(params.maxNewTokens, 1, Number.MAX_SAFE_INTEGER), `maxNewTokens must be a positive integer (got ${params.maxNewTokens})`);
  check(Number.isFinite(params.temperature) && params.temperature >= 0, `temperature must be >= 0 (got ${params.temperature})`);
  check(isIntegerIn(params.topK, 0, Number.MAX_SAFE_INTEGER), `topK must be a non-negative integer (got ${params.topK})`);
  check(params.topP > 0 && params.topP <= 1, `topP must be in (0, 1] (got ${params.topP})`);
  check(Number.isInteger(params.seed), `seed must be an integer (got ${params.seed})`);
  check(Array.isArray(params.stopStrings) && params.stopStrings.every((s) => typeof s === 'string' && s.length > 0), 'stopStrings must be non-empty strings');
  check(params.timeBudgetMs === null || (Number.isFinite(params.timeBudgetMs) && params.timeBudgetMs > 0), `timeBudgetMs must be null or > 0 (got ${params.timeBudgetMs})`);
  check(typeof params.healedText === 'string', 'healedText must be a string');
  return params;
}

/** Layers a mode runs for every token: it needs their caches filled. */
export function layersUsed(params: GenerationParams, config: ModelConfig): number {
  return params.mode === 'early-exit' ? params.exitLayer : config.numLayers;
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RangeError(`invalid generation parameter: ${message}`);
}

function stripUndefined<T extends object>(partial: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined)) as Partial<T>;
}
