// One completion: cursor context -> FIM prompt -> engine generation (streamed, stopped early by the stop rules)
// -> post-processing. Only one generation runs at a time. A new request takes over the generation in flight when the
// user typed what it generates (inFlightGeneration.ts); any other new request aborts it, because the user has moved
// on and the engine would otherwise serialise stale work ahead of the fresh request.
import type { CompletionStats, ServerSettings } from '../protocol.js';
import { cursorContext } from './cursorContext.js';
import type { CompletionEngine, CompletionGenerationResult, Decoding } from './engine.js';
import { InFlightGeneration, type Follower, type Served } from './inFlightGeneration.js';
import { PartialReporter } from './partialReporter.js';
import { postprocess } from './postprocess/index.js';
import type { PromptBuilder } from './prompt.js';

export interface CompletionRequest {
  uri: string;
  languageId: string;
  text: string;
  offset: number;
  /** Cross-file context (already formatted), '' for none. */
  context: string;
}

export interface ModelInUse {
  engine: CompletionEngine;
  prompts: PromptBuilder;
  /** The operating point: mode, E and d from the settings and the calibration, and any engine setting it overrides. */
  decoding: Decoding;
  fimEndOfText: string | null;
  name: string;
  /** tokens/s of full decoding measured at load (speedup reference), null if unknown. */
  fullTokensPerSecond: number | null;
}

export interface CompletionOutcome {
  /** The suggestion after post-processing; '' for none. */
  text: string;
  /** Null when the request was cancelled before the model produced anything worth reporting. */
  stats: CompletionStats | null;
}

export class CompletionService {
  /** The latest generation; the ones before it have ended or been aborted. */
  private generation: InFlightGeneration | null = null;

  async complete(
    request: CompletionRequest,
    model: ModelInUse,
    settings: ServerSettings,
    signal: AbortSignal,
    onPartial: (text: string) => void,
  ): Promise<CompletionOutcome> {
    const received = performance.now();
    const context = cursorContext(request.text, request.offset, request.languageId);
    const report = (text: string): void => {
      if (!signal.aborted) onPartial(text); // once cancelled, the generation may run on for the next request
    };
    const follower = (typed: string): Follower => ({ request, typed, reporter: new PartialReporter(context, report, received) });
    const current = this.generation;
    const typed = current?.typedBy(request, context, model, settings) ?? null;
    if (current !== null && typed !== null) {
      const adopter = follower(typed);
      const served = await current.follow(adopter, signal);
      if (served.kind !== 'diverged') return outcome(served, adopter, model, received);
    }
    const previous = this.generation;
    previous?.abort();
    const generation = new InFlightGeneration(model, settings, request, context, previous?.settled ?? Promise.resolve());
    this.generation = generation;
    const own = follower('');
    return outcome(await generation.follow(own, signal), own, model, received);
  }
}

/** The request's suggestion post-processed for its own cursor, with statistics measured from its own receipt. */
function outcome(served: Served, follower: Follower, model: ModelInUse, received: number): CompletionOutcome {
  if (served.kind !== 'ended') return { text: '', stats: null };
  const { reporter } = follower;
  const text = postprocess(reporter.text, reporter.context);
  if (served.result === null) return { text, stats: null };
  const latencyMs = performance.now() - received;
  const stats = completionStats(served.result, model, latencyMs, reporter.firstLineMs, text !== '');
  // An adopted generation's prompt and first token came before this request: its first token is its first character.
  if (follower.typed !== '') stats.timeToFirstTokenMs = reporter.firstTextMs ?? latencyMs;
  return { text, stats };
}

function completionStats(
  result: CompletionGenerationResult,
  model: ModelInUse,
  latencyMs: number,
  firstLineMs: number | null,
  delivered: boolean,
): CompletionStats {
  const s = result.stats;
  return {
    latencyMs,
    firstLineMs: firstLineMs ?? (delivered ? latencyMs : null),
    timeToFirstTokenMs: s.timeToFirstTokenMs,
    tokensPerSecond: s.tokensPerSecond,
    promptTokens: s.promptTokens,
    promptCacheHitTokens: s.promptCacheHitTokens,
    generatedTokens: s.generatedTokens,
    drafted: s.drafted,
    accepted: s.accepted,
    acceptanceRate: s.acceptanceRate,
    estimatedSpeedup: s.estimatedSpeedup,
    speedup: model.fullTokensPerSecond && s.tokensPerSecond > 0 ? s.tokensPerSecond / model.fullTokensPerSecond : null,
    mode: model.decoding.mode,
    exitLayer: s.exitLayer,
    draftLength: s.draftLength,
    device: s.device,
    model: model.name,
    stopReason: result.stopReason,
    delivered,
    lookAhead: false,
  };
}
