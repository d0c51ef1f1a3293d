// Completion's engine when a remote OpenAI-compatible server generates (settings.remoteUrl): the prompt built here
// with the package's tokenizer (FIM layout, budgets, token healing's held-back text) goes to the server as text, its
// streamed text comes back through the same stop strings as the local engine's. Greedy; cancellation aborts the HTTP
// request. The statistics count tokens with the local tokenizer (the server's own counts are not streamed).
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
    const { endpoint, model, codec, bosTokenId, extraStopStrings, timeouts = DEFAULT_TIMEOUTS } = this.remote;
    const started = performance.now();
    const promptTokens = prompt[0] === bosTokenId ? prompt.slice(1) : prompt;
    // the healed text was held back from the tokens so that a local model may re-spell it; the server continues it
    const text = codec.decodeWithSpecialTokens(promptTokens) + (params.healedText ?? '');
    const stopStrings = [...(params.stopStrings ?? []), ...extraStopStrings];
    const filter = new StopStringFilter(stopStrings);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) controller.abort();
    let budgetSpent = false;
    const budget = params.timeBudgetMs === undefined || params.timeBudgetMs === null
      ? null
      : setTimeout(() => ((budgetSpent = true), controller.abort()), params.timeBudgetMs);
    let raw = '';
    let firstTextAt: number | null = null;
    let stopReason: StopReason = 'max-tokens';
    try {
      const body = {
        model,
        prompt: text,
        max_tokens: params.maxNewTokens ?? 64,
        temperature: params.temperature ?? 0,
        stop: stopStrings.slice(0, MAX_SERVER_STOP_STRINGS),
      };
      for await (const chunk of streamCompletion(endpoint, body, controller.signal, timeouts)) {
        if (chunk.text !== '') firstTextAt ??= performance.now();
        raw += chunk.text;
        const { delta, stopped } = filter.update(raw);
        if (delta !== '') options.onText?.(delta, []);
        if (stopped) {
          stopReason = 'stop-string';
          controller.abort();
          break;
        }
        if (chunk.finishReason !== null) stopReason = chunk.finishReason === 'length' ? 'max-tokens' : 'eos';
      }
      if (controller.signal.aborted && stopReason !== 'stop-string') stopReason = budgetSpent ? 'time-budget' : 'cancelled';
      const rest = filter.flush();
      if (rest !== '') options.onText?.(rest, []);
    } finally {
      if (budget !== null) clearTimeout(budget);
      options.signal?.removeEventListener('abort', onAbort);
    }
    const totalMs = performance.now() - started;
    const generatedTokens = filter.fullText === '' ? 0 : codec.encode(filter.fullText).length;
    return { text: filter.fullText, stopReason, stats: stats(promptTokens.length, generatedTokens, firstTextAt === null ? totalMs : firstTextAt - started, totalMs) };
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
    measuredSpeedupBound: 1,
    exitLayer: 0,
    draftLength: 0,
    device: 'remote',
  };
}
