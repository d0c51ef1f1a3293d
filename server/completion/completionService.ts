// One completion: cursor context -> FIM prompt -> engine generation (streamed, stopped early by the stop rules)
// -> post-processing. Only one generation runs at a time. A new request takes over the latest generation when the
// user typed what it generates, or accepted the suggestion it was prepared for (look-ahead; inFlightGeneration.ts);
// any other new request aborts it, because the user has moved on and the engine would otherwise serialise stale work
// ahead of the fresh request.
import type { CompletionStats, ServerSettings } from '../protocol.js';
import { cursorContext, type CursorContext } from './cursorContext.js';
import type { CompletionEngine, CompletionGenerationResult, Decoding } from './engine.js';
import { InFlightGeneration, type Follower, type Served } from './inFlightGeneration.js';
import { PartialReporter } from './partialReporter.js';
import { typedAtCursor } from './typedAtCursor.js';
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
  /** The latest generation (or look-ahead, or warm-up); the ones before it have ended or been aborted. */
  private generation: InFlightGeneration | null = null;
  /** The last warm-up started, and for which request. */
  private warming: { generation: InFlightGeneration; request: CompletionRequest } | null = null;

  /**
   * The request's suggestion, from the latest generation when the request's document is that generation's plus what
   * it generated typed at its cursor (or the same document), else from a generation of its own, which aborts the
   * latest. A delivered suggestion starts the look-ahead: the next one, as if the user accepted it.
   */
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
    const follower = (typed: string, adopted: boolean): Follower => ({ request, typed, adopted, reporter: new PartialReporter(context, report, received) });
    const current = this.generation;
    const typed = current?.typedBy(request, context, model, settings) ?? null;
    let result: CompletionOutcome | null = null;
    if (current !== null && typed !== null) {
      const adopter = follower(typed, true);
      const served = await current.follow(adopter, signal);
      if (served.kind !== 'diverged') result = outcome(served, adopter, model, received, current.lookAhead);
    }
    if (result === null) {
      const own = follower('', false);
      result = outcome(await this.start(request, context, model, settings).follow(own, signal), own, model, received, false);
    }
    if (result.text !== '' && !signal.aborted) this.lookAhead(request, result.text, model, settings);
    return result;
  }

  /**
   * The cursor came to rest at `request`'s cursor without typing: its prompt is prefilled now (a generation of one
   * token that serves nobody), so that the first completion there finds it in the engine's prompt cache. Any request
   * aborts it like any stale generation (the prefill stops between two chunks; what it filled stays cached). Not
   * taken over: it was made with other settings (one token).
   */
  warm(request: CompletionRequest, model: ModelInUse, settings: ServerSettings): void {
    const current = this.generation;
    const context = cursorContext(request.text, request.offset, request.languageId);
    // already at work for exactly this document and cursor: a look-ahead, a request (in flight or in its grace), or
    // this same warm-up
    if (current !== null && current.typedBy(request, context, model, settings) === '') return;
    if (current !== null && current === this.warming?.generation && typedAtCursor(this.warming.request, request) === '') return;
    this.warming = { generation: this.prepare(request, context, model, { ...settings, maxNewTokens: 1 }), request };
  }

  private start(request: CompletionRequest, context: CursorContext, model: ModelInUse, settings: ServerSettings): InFlightGeneration {
    const previous = this.generation;
    previous?.abort();
    const generation = new InFlightGeneration(model, settings, request, context, previous?.settled ?? Promise.resolve());
    this.generation = generation;
    return generation;
  }

  /**
   * Computes what follows `suggestion` once accepted at `request`'s cursor, so that the ghost text after Tab is ready
   * at once (llama.vscode and Copilot do the same). Any other request replaces it like any stale generation.
   */
  private lookAhead(request: CompletionRequest, suggestion: string, model: ModelInUse, settings: ServerSettings): void {
    // the editor inserts the suggestion with the document's line breaks
    const accepted = request.text.includes('\r\n') ? suggestion.replace(/\n/g, '\r\n') : suggestion;
    const prefix = request.text.slice(0, request.offset) + accepted;
    const next: CompletionRequest = { ...request, text: prefix + request.text.slice(request.offset), offset: prefix.length };
    this.prepare(next, cursorContext(next.text, next.offset, next.languageId), model, settings);
  }

  /** A generation for `request` that serves nobody yet (a look-ahead or a warm-up): it runs until its text is complete. */
  private prepare(request: CompletionRequest, context: CursorContext, model: ModelInUse, settings: ServerSettings): InFlightGeneration {
    const generation = this.start(request, context, model, settings);
    generation.prepare({ request, typed: '', adopted: false, reporter: new PartialReporter(context, () => undefined, performance.now()) });
    return generation;
  }
}

/** The request's suggestion post-processed for its own cursor, with statistics measured from its own receipt. */
function outcome(served: Served, follower: Follower, model: ModelInUse, received: number, lookAhead: boolean): CompletionOutcome {
  if (served.kind !== 'ended') return { text: '', stats: null };
  const { reporter } = follower;
  const text = postprocess(reporter.text, reporter.context);
  if (served.result === null) return { text, stats: null };
  const latencyMs = performance.now() - received;
  const stats = completionStats(served.result, model, latencyMs, reporter.firstLineMs, text !== '', lookAhead);
  // An adopted generation's prompt and first token came before this request: its first token is its first character.
  if (follower.adopted) stats.timeToFirstTokenMs = reporter.firstTextMs ?? latencyMs;
  return { text, stats };
}

function completionStats(
  result: CompletionGenerationResult,
  model: ModelInUse,
  latencyMs: number,
  firstLineMs: number | null,
  delivered: boolean,
  lookAhead: boolean,
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
    lookAhead,
  };
}
