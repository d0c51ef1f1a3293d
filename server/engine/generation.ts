/**
 * One generation: prefill, then steps of the chosen mode until a stop condition, streaming each step's accepted
 * tokens as they come. Stop conditions: max tokens, EOS/EOT, stop strings, wall-clock budget, cancellation
 * (checked between any two steps and between prefill chunks).
 */
import { planFor, type LayerBackend } from '../backend/layerBackend.js';
import { autoregressiveStep, prefill, selfSpeculativeStep, type DecodeState, type StepOutcome } from './decode.js';
import type { DraftPolicy } from './draftPolicy.js';
import type { KvCache } from '../backend/kvCache.js';
import { layersUsed, type GenerationParams } from './params.js';
import { seededRandom } from './sampling.js';
import { StageClock, summarize, type GenerationStats } from './stats.js';
import { TextStream } from './textStream.js';
import { GreedyChooser, SamplingChooser, type TokenChooser } from './tokenChoice.js';
import { HealingConstraint, type VocabularyText } from './tokenHealing.js';
import type { TextCodec } from './tokenizer.js';

export type StopReason = 'max-tokens' | 'eos' | 'stop-string' | 'time-budget' | 'cancelled';

export interface GenerationResult {
  /** Generated tokens, EOS excluded. */
  tokens: number[];
  /** Their text, cut before a stop string. */
  text: string;
  stopReason: StopReason;
  stats: GenerationStats;
}

export interface GenerationOptions {
  signal?: AbortSignal;
  /** Called once per step with the text that became final and the tokens that step accepted. */
  onText?: (delta: string, tokens: number[]) => void;
}

export interface GenerationJob {
  backend: LayerBackend;
  /** Holds the first `cachedTokens` positions of `tokens` (prompt-cache hit); decoding extends `tokens` in place. */
  cache: KvCache;
  tokens: number[];
  cachedTokens: number;
  params: GenerationParams;
  codec: TextCodec;
  /** Token ids that end a generation (EOS, EOT). */
  stopTokens: readonly number[];
  /** Every token's text, for token healing (params.healedText). */
  vocabulary: VocabularyText;
  device: string;
  /** Self-speculative draft lengths; the engine keeps an adaptive policy across generations (draftPolicy.ts). */
  policy: DraftPolicy;
}

const RESERVED_NEW_TOKENS = 1024;

export async function generate(job: GenerationJob, options: GenerationOptions = {}): Promise<GenerationResult> {
  const { backend, params } = job;
  // builds the sessions of another exit layer or mode (about a second), outside the generation's clock: the stats
  // describe decoding; nothing happens when the plan is already arranged
  const arranging = performance.now();
  await backend.arrange(planFor(params.mode, params.exitLayer, backend.config.numLayers));
  const arrangeMs = performance.now() - arranging;
  const started = performance.now();
  const clock = new StageClock();
  const chooser = chooserFor(params, backend, clock);
  const state: DecodeState = { backend, cache: job.cache, tokens: job.tokens, chooser, clock, endTokens: job.stopTokens };
  const promptTokens = job.tokens.length;
  const text = new TextStream(job.codec, params.stopStrings, params.healedText);
  const healing = new HealingConstraint(params.healedText, job.vocabulary);
  const generated: number[] = [];
  let steps = 0, drafted = 0, accepted = 0, firstTokenAt = NaN;

  // sized up front: regrowing (copying) the whole cache mid-stream would stall the tokens after it; a huge
  // maxNewTokens only reserves the first RESERVED_NEW_TOKENS (the cache grows past them as needed)
  job.cache.reserve(promptTokens + Math.min(params.maxNewTokens, RESERVED_NEW_TOKENS) + 1);
  const stopReason = await (async (): Promise<StopReason> => {
    if (!(await prefill(state, layersUsed(params, backend.config), options.signal))) return 'cancelled';
    for (;;) {
      if (options.signal?.aborted) return 'cancelled';
      if (params.timeBudgetMs !== null && performance.now() - started >= params.timeBudgetMs) return 'time-budget';
      const outcome = healing.done
        ? await step(state, params, job.policy, params.maxNewTokens - generated.length)
        : await autoregressiveStep(state, layersUsed(params, backend.config), healing.allowedTokens());
      healing.advance(outcome.tokens);
      steps++;
      drafted += outcome.drafted;
      accepted += outcome.acceptedDrafts;
      if (generated.length === 0) firstTokenAt = performance.now();
      const eosAt = outcome.tokens.findIndex((token) => job.stopTokens.includes(token));
      const kept = eosAt === -1 ? outcome.tokens : outcome.tokens.slice(0, eosAt);
      generated.push(...kept);
      const { delta, stopped } = text.push(kept);
      if (delta !== '' || kept.length > 0) options.onText?.(delta, kept);
      if (stopped) return 'stop-string';
      if (eosAt !== -1) return 'eos';
      if (generated.length >= params.maxNewTokens) return 'max-tokens';
    }
  })();

  const tail = text.flush();
  if (tail !== '') options.onText?.(tail, []);
  const totalMs = performance.now() - started;
  const stats = summarize({
    mode: params.mode,
    exitLayer: params.mode === 'full' ? backend.config.numLayers : params.exitLayer,
    draftLength: params.draftLength,
    numLayers: backend.config.numLayers,
    device: job.device,
    promptTokens,
    promptCacheHitTokens: job.cachedTokens,
    generatedTokens: generated.length,
    steps,
    drafted,
    accepted,
    timeToFirstTokenMs: Number.isNaN(firstTokenAt) ? totalMs : firstTokenAt - started,
    totalMs,
    arrangeMs,
    clock,
  });
  return { tokens: generated, text: text.fullText, stopReason, stats };
}

/** One step of the mode; never produces more than `remaining` tokens. Self-speculative steps are timed for the policy. */
async function step(state: DecodeState, params: GenerationParams, policy: DraftPolicy, remaining: number): Promise<StepOutcome> {
  const L = state.backend.config.numLayers;
  switch (params.mode) {
    case 'full':
      return autoregressiveStep(state, L);
    case 'early-exit':
      return autoregressiveStep(state, params.exitLayer);
    case 'self-speculative': {
      const started = performance.now();
      const outcome = await selfSpeculativeStep(state, params.exitLayer, policy, Math.min(policy.budget(), remaining - 1));
      const { drafted, acceptedDrafts: accepted, tokens } = outcome;
      policy.record({ drafted, accepted, tokens: tokens.length, ms: performance.now() - started });
      return outcome;
    }
  }
}

function chooserFor(params: GenerationParams, backend: LayerBackend, clock: StageClock): TokenChooser {
  if (params.temperature === 0) return new GreedyChooser(clock, backend.config.vocabSize, params.adaptiveDraft);
  const { temperature, topK, topP } = params;
  return new SamplingChooser(clock, backend.config.vocabSize, { temperature, topK, topP }, seededRandom(params.seed));
}
