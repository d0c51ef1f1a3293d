// One completion: cursor context -> FIM prompt -> engine generation (streamed, stopped early by the stop rules)
// -> post-processing. Only one generation runs at a time: a new request aborts the previous one, because the
// user has moved on and the engine would otherwise serialise stale work ahead of the fresh request.
import type { CompletionStats, ServerSettings } from '../protocol.js';
import { cursorContext, type CursorContext } from './cursorContext.js';
import type { CompletionEngine, CompletionGenerationResult } from './engine.js';
import { postprocess } from './postprocess/index.js';
import type { PromptBuilder } from './prompt.js';
import { completionRules } from './rules.js';
import { stopStringsFor, suggestionComplete } from './stopRules.js';

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
  /** Resolved E and d (settings, else the package's recommendation). */
  exitLayer: number;
  draftLength: number;
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
  private inFlight: { controller: AbortController; done: Promise<unknown> } | null = null;

  async complete(
    request: CompletionRequest,
    model: ModelInUse,
    settings: ServerSettings,
    signal: AbortSignal,
    onPartial: (text: string) => void,
  ): Promise<CompletionOutcome> {
    const received = performance.now();
    const previous = this.inFlight;
    previous?.controller.abort();
    const controller = new AbortController();
    const abortOnCancel = (): void => controller.abort();
    signal.addEventListener('abort', abortOnCancel, { once: true });
    const run = (async () => {
      await previous?.done;
      return this.generate(request, model, settings, controller, onPartial, received);
    })();
    const done = run.catch(() => undefined);
    this.inFlight = { controller, done };
    try {
      return await run;
    } finally {
      signal.removeEventListener('abort', abortOnCancel);
      if (this.inFlight?.done === done) this.inFlight = null;
    }
  }

  private async generate(
    request: CompletionRequest,
    model: ModelInUse,
    settings: ServerSettings,
    controller: AbortController,
    onPartial: (text: string) => void,
    received: number,
  ): Promise<CompletionOutcome> {
    if (controller.signal.aborted) return { text: '', stats: null };
    const context = cursorContext(request.text, request.offset, request.languageId);
    const prompt = await model.prompts.build(
      { uri: request.uri, prefix: context.prefix, suffix: context.suffix, context: request.context },
      { prefixTokens: settings.prefixTokens, suffixTokens: settings.suffixTokens },
    );
    if (controller.signal.aborted) return { text: '', stats: null };
    const stream = new PartialReporter(context, onPartial, received);
    // Ending the generation ourselves (the suggestion is complete) also goes through the abort signal; the
    // caller's cancellation is told apart by `cancelled`.
    let cancelled = false;
    controller.signal.addEventListener('abort', () => (cancelled = !stream.complete), { once: true });
    const generation = model.engine.generate(
      prompt.tokens,
      {
        mode: settings.mode,
        exitLayer: model.exitLayer,
        draftLength: model.draftLength,
        adaptiveDraft: settings.adaptiveDraft,
        maxNewTokens: settings.maxNewTokens,
        temperature: 0,
        stopStrings: stopStringsFor(context, model.fimEndOfText),
        timeBudgetMs: settings.timeBudgetMs,
        healedText: prompt.healedText,
      },
      {
        signal: controller.signal,
        onText: (delta) => {
          if (stream.push(delta)) controller.abort();
        },
      },
    );
    let result: CompletionGenerationResult;
    try {
      result = await generation;
    } catch (error) {
      // An engine may reject on abort instead of resolving with stopReason 'cancelled'.
      if (!controller.signal.aborted) throw error;
      return { text: cancelled ? '' : postprocess(stream.text, context), stats: null };
    }
    if (cancelled) return { text: '', stats: null };
    const text = postprocess(stream.text || result.text, context);
    return { text, stats: completionStats(result, model, settings, performance.now() - received, stream.firstLineMs, text !== '') };
  }
}

/** Accumulates streamed text, reports the processed suggestion once its first line is complete, then as it grows. */
class PartialReporter {
  text = '';
  complete = false;
  firstLineMs: number | null = null;
  private lastReport = 0;
  private lastReported = '';

  constructor(
    private readonly context: CursorContext,
    private readonly onPartial: (text: string) => void,
    private readonly received: number,
  ) {}

  /** Returns true when the suggestion is complete and generation can stop. */
  push(delta: string): boolean {
    this.text += delta;
    this.complete = suggestionComplete(this.text, this.context);
    if (this.text.includes('\n') && !this.complete) this.report();
    return this.complete;
  }

  private report(): void {
    const now = performance.now();
    if (this.lastReported !== '' && now - this.lastReport < completionRules.partialResultIntervalMs) return;
    const processed = postprocess(this.text, this.context);
    if (processed === '' || processed === this.lastReported) return;
    this.firstLineMs ??= now - this.received;
    this.lastReport = now;
    this.lastReported = processed;
    this.onPartial(processed);
  }
}

function completionStats(
  result: CompletionGenerationResult,
  model: ModelInUse,
  settings: ServerSettings,
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
    estimatedSpeedup: s.measuredSpeedupBound,
    speedup: model.fullTokensPerSecond && s.tokensPerSecond > 0 ? s.tokensPerSecond / model.fullTokensPerSecond : null,
    mode: settings.mode,
    exitLayer: s.exitLayer,
    draftLength: s.draftLength,
    device: s.device,
    model: model.name,
    stopReason: result.stopReason,
    delivered,
    lookAhead: false,
  };
}
