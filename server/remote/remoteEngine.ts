// Completion's engine when a remote OpenAI-compatible server generates (settings.remoteUrl): the prompt built here
// with the package's tokenizer (FIM layout, budgets) goes to the server as text, its streamed text comes back through
// the same stop strings as the local engine's, and token healing is kept by agreement (generate()). Greedy;
// cancellation aborts the HTTP request. Token counts in the statistics come from the local tokenizer (the server's
// own counts are not streamed).
import { StopStringFilter } from '../engine/stopStringFilter.js';
import type { StopReason } from '../engine/generation.js';
import type { CompletionEngine, CompletionGenerationParams, CompletionGenerationResult, CompletionGenerationStats } from '../completion/engine.js';
import { DEFAULT_TIMEOUTS, streamCompletion, type RemoteEndpoint, type Timeouts } from './openAiApi.js';

/** The tokenizer calls the remote engine makes. */
export interface PromptCodec {
  encode(text: string): number[];
  decodeWithSpecialTokens(tokens: readonly number[]): string;
}

export interface RemoteModel {
  endpoint: RemoteEndpoint;
  /** The name sent as `model` (null: the server's only model). */
  model: string | null;
  codec: PromptCodec;
  /** Left out of the text sent: the server puts its own BOS in front. */
  bosTokenId: number | null;
  /** Texts that end a suggestion beyond the request's stop strings (the FIM markers: a model that lost the layout). */
  extraStopStrings: string[];
  timeouts?: Timeouts;
}

type Attempt =
  | { kind: 'ended'; text: string; stopReason: StopReason; firstTextAt: number | null }
  /** The continuation did not begin with the text it had to begin with. */
  | { kind: 'diverged' };

/** OpenAI's API allows at most 4 stop strings; the rest are applied here. */
const MAX_SERVER_STOP_STRINGS = 4;

export class RemoteEngine implements CompletionEngine {
  constructor(private readonly remote: RemoteModel) {}

  tokenize(text: string): number[] {
    return this.remote.codec.encode(text);
  }

  async generate(
    prompt: number[],
    params: Partial<CompletionGenerationParams>,
    options: { signal?: AbortSignal; onText?: (delta: string, tokens: number[]) => void },
  ): Promise<CompletionGenerationResult> {
    const { codec, bosTokenId } = this.remote;
    const started = performance.now();
    const promptTokens = prompt[0] === bosTokenId ? prompt.slice(1) : prompt;
    const text = codec.decodeWithSpecialTokens(promptTokens);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) controller.abort();
    const budget = { spent: false };
    const timer = params.timeBudgetMs === undefined || params.timeBudgetMs === null
      ? null
      : setTimeout(() => ((budget.spent = true), controller.abort()), params.timeBudgetMs);
    try {
      // Token healing without logit access: the healed text is held back and the server's continuation must begin
      // with it (then the model chose how to spell it); one that does not is asked again with it in the prompt.
      const healed = params.healedText ?? '';
      const first = await this.stream(text, healed, params, controller, budget, options.onText);
      const attempt = first.kind === 'diverged' ? await this.stream(text + healed, '', params, controller, budget, options.onText) : first;
      if (attempt.kind === 'diverged') throw new Error('unreachable: a continuation with nothing to begin with cannot diverge');
      const totalMs = performance.now() - started;
      const firstTextMs = attempt.firstTextAt === null ? totalMs : attempt.firstTextAt - started;
      // the server's token ids are not streamed (counted here with the local tokenizer, for the statistics only)
      const generatedTokens = attempt.text === '' ? 0 : codec.encode(attempt.text).length;
      return { tokens: null, text: attempt.text, stopReason: attempt.stopReason, stats: stats(promptTokens.length, generatedTokens, firstTextMs, totalMs) };
    } finally {
      if (timer !== null) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** One request: `promptText` continued, the continuation past `mustBegin` streamed through the stop strings. */
  private async stream(
    promptText: string,
    mustBegin: string,
    params: Partial<CompletionGenerationParams>,
    controller: AbortController,
    budget: { spent: boolean },
    onText: ((delta: string, tokens: number[]) => void) | undefined,
  ): Promise<Attempt> {
    const { endpoint, model, extraStopStrings, timeouts = DEFAULT_TIMEOUTS } = this.remote;
    const stopStrings = [...(params.stopStrings ?? []), ...extraStopStrings];
    const filter = new StopStringFilter(stopStrings);
    const request = new AbortController(); // this request alone (a diverged one is dropped, the generation goes on)
    const abort = (): void => request.abort();
    controller.signal.addEventListener('abort', abort, { once: true });
    if (controller.signal.aborted) request.abort();
    let raw = '';
    let firstTextAt: number | null = null;
    let stopReason: StopReason = 'max-tokens';
    try {
      const body = {
        model,
        prompt: promptText,
        max_tokens: params.maxNewTokens ?? 64,
        temperature: params.temperature ?? 0,
        stop: mustBegin === '' ? stopStrings.slice(0, MAX_SERVER_STOP_STRINGS) : [],
      };
      for await (const chunk of streamCompletion(endpoint, body, request.signal, timeouts)) {
        raw += chunk.text;
        if (raw.length < mustBegin.length ? !mustBegin.startsWith(raw) : !raw.startsWith(mustBegin)) return { kind: 'diverged' };
        if (raw.length > mustBegin.length) firstTextAt ??= performance.now();
        const { delta, stopped } = filter.update(raw.slice(mustBegin.length));
        if (delta !== '') onText?.(delta, []);
        if (stopped) {
          stopReason = 'stop-string';
          break;
        }
        if (chunk.finishReason !== null) stopReason = chunk.finishReason === 'length' ? 'max-tokens' : 'eos';
      }
      if (raw.length < mustBegin.length && !controller.signal.aborted) return { kind: 'diverged' }; // ended inside it
      if (controller.signal.aborted) stopReason = budget.spent ? 'time-budget' : 'cancelled';
      const rest = filter.flush();
      if (rest !== '') onText?.(rest, []);
      return { kind: 'ended', text: filter.fullText, stopReason, firstTextAt };
    } finally {
      request.abort(); // a request left early (stop string, divergence) is closed, so the server stops generating
      controller.signal.removeEventListener('abort', abort);
    }
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

function stats(promptTokens: number, generatedTokens: number, timeToFirstTokenMs: number, totalMs: number): CompletionGenerationStats {
  const decodeMs = totalMs - timeToFirstTokenMs;
  return {
    promptTokens,
    promptCacheHitTokens: 0,
    timeToFirstTokenMs,
    tokensPerSecond: generatedTokens > 1 && decodeMs > 0 ? ((generatedTokens - 1) * 1000) / decodeMs : 0,
    generatedTokens,
    drafted: 0,
    accepted: 0,
    acceptanceRate: 0,
    totalMs,
    estimatedSpeedup: 1,
    exitLayer: 0,
    draftLength: 0,
    device: 'remote',
  };
}
