// The two calls the remote backend makes to an OpenAI-compatible server (llama.cpp's server, vLLM, TGI, ...):
// GET {url}/models and a streamed POST {url}/completions (server-sent events). Every failure becomes a RemoteError
// whose message says what happened in words a user can act on; the API key goes only into the Authorization header,
// never into a message. Requests go to the configured URL only (redirects are refused).

export interface RemoteEndpoint {
  /** The API's base URL, e.g. http://127.0.0.1:8080/v1 (parseRemoteUrl). */
  url: URL;
  apiKey: string | null;
}

export interface Timeouts {
  /** Request sent -> response headers (a server loading a model, or one that is down behind a proxy). */
  responseMs: number;
  /** Longest silence between two events of a stream. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { responseMs: 10_000, idleMs: 10_000 };

export class RemoteError extends Error {
  override name = 'RemoteError';
}

/** The settings' URL, checked: http or https, no credentials (the key has its own secret), no query. */
export function parseRemoteUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new RemoteError(`layerskip.remoteUrl is not a URL: ${JSON.stringify(text)} (expected e.g. http://127.0.0.1:8080/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteError(`layerskip.remoteUrl must be http or https, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') {
    throw new RemoteError('layerskip.remoteUrl must not hold credentials: set the key with "LayerSkip: Set Remote API Key"');
  }
  if (url.search !== '' || url.hash !== '') throw new RemoteError('layerskip.remoteUrl must not have a query or fragment');
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** The model names the server lists; null when it has no /models (it then serves whatever `model` says). */
export async function listModels(endpoint: RemoteEndpoint, signal: AbortSignal, timeouts = DEFAULT_TIMEOUTS): Promise<string[] | null> {
  const response = await request(endpoint, 'models', { method: 'GET' }, signal, timeouts.responseMs);
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  await failUnlessOk(response);
  const body = (await readJson(response)) as { data?: { id?: unknown }[] };
  if (!Array.isArray(body.data)) throw new RemoteError(`${urlOf(endpoint, 'models')} did not answer an OpenAI model list`);
  return body.data.map((model) => model.id).filter((id): id is string => typeof id === 'string');
}

export interface CompletionBody {
  model: string | null;
  prompt: string;
  max_tokens: number;
  temperature: number;
  stop: string[];
}

export interface StreamedText {
  text: string;
  /** Set on the server's last event ('stop', 'length', ...). */
  finishReason: string | null;
}

/**
 * Streams a completion. Ends when the server says it is done; throws a RemoteError when the server fails, goes
 * silent or drops the stream; returns quietly when `signal` aborts (the HTTP request is aborted with it).
 */
export async function* streamCompletion(
  endpoint: RemoteEndpoint,
  body: CompletionBody,
  signal: AbortSignal,
  timeouts = DEFAULT_TIMEOUTS,
): AsyncGenerator<StreamedText> {
  const { model, ...rest } = body;
  const payload = JSON.stringify({ ...(model === null ? {} : { model }), ...rest, stream: true });
  const response = await request(endpoint, 'completions', { method: 'POST', body: payload }, signal, timeouts.responseMs).catch((error: unknown) => {
    if (signal.aborted) return null;
    throw error;
  });
  if (response === null) return;
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream') || !response.ok) {
    // an error, or a server that ignores `stream` and answers the whole completion at once; an abort while its body
    // is read ends quietly, like one mid-stream
    const whole = await failUnlessOk(response)
      .then(() => readJson(response) as Promise<CompletionChunk>)
      .catch((error: unknown) => {
        if (signal.aborted) return null;
        throw error;
      });
    if (whole !== null) yield chunkText(whole, endpoint);
    return;
  }
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (reader === undefined) throw new RemoteError(`${urlOf(endpoint, 'completions')} answered without a body`);
  const silence = new IdleTimer(timeouts.idleMs, () => void reader.cancel().catch(() => undefined));
  const onAbort = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  let buffer = '';
  let finished = false;
  try {
    for (;;) {
      const read = await reader.read().catch((error: unknown) => {
        if (signal.aborted || silence.fired) return { done: true as const, value: undefined };
        throw new RemoteError(`the stream from ${urlOf(endpoint, 'completions')} broke: ${describeNetworkError(error)}`);
      });
      if (signal.aborted) return;
      if (silence.fired) throw new RemoteError(`${urlOf(endpoint, 'completions')} sent nothing for ${seconds(timeouts.idleMs)}: timed out`);
      if (read.done) break;
      silence.restart();
      buffer += read.value;
      let end: RegExpExecArray | null;
      while ((end = /\r?\n\r?\n/.exec(buffer)) !== null) {
        const event = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        const data = eventData(event);
        if (data === null) continue;
        if (data === '[DONE]') return;
        const chunk = parseJson(data, `${urlOf(endpoint, 'completions')} sent an event that is not JSON`) as CompletionChunk;
        const streamed = chunkText(chunk, endpoint);
        if (streamed.finishReason !== null) finished = true;
        yield streamed;
      }
    }
    if (!finished) throw new RemoteError(`${urlOf(endpoint, 'completions')} closed the stream before the completion ended (connection dropped)`);
  } finally {
    silence.stop();
    signal.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

interface CompletionChunk {
  choices?: { text?: unknown; finish_reason?: unknown }[];
  error?: unknown;
}

function chunkText(chunk: CompletionChunk, endpoint: RemoteEndpoint): StreamedText {
  if (chunk.error !== undefined) throw new RemoteError(`${urlOf(endpoint, 'completions')} failed mid-stream: ${errorText(chunk.error)}`);
  const choice = chunk.choices?.[0];
  if (choice === undefined) throw new RemoteError(`${urlOf(endpoint, 'completions')} sent an event without choices`);
  return {
    text: typeof choice.text === 'string' ? choice.text : '',
    finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
  };
}

/** The data of one server-sent event (its `data:` lines joined), or null for a comment / keep-alive. */
function eventData(event: string): string | null {
  const lines = event.split(/\r?\n/).filter((line) => line.startsWith('data:'));
  if (lines.length === 0) return null;
  return lines.map((line) => line.slice(5).replace(/^ /, '')).join('\n').trim();
}

async function request(endpoint: RemoteEndpoint, path: string, init: RequestInit, signal: AbortSignal, responseMs: number): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, text/event-stream' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (endpoint.apiKey !== null) headers.authorization = `Bearer ${endpoint.apiKey}`;
  // The timeout covers the headers only (a stream's reads have the idle timer); the caller's abort covers the body too.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => ((timedOut = true), controller.abort()), responseMs);
  signal.addEventListener('abort', () => controller.abort(), { once: true });
  if (signal.aborted) controller.abort();
  try {
    return await fetch(urlOf(endpoint, path), { ...init, headers, signal: controller.signal, redirect: 'error' });
  } catch (error) {
    if (signal.aborted) throw error;
    if (timedOut) throw new RemoteError(`${urlOf(endpoint, path)} did not answer within ${seconds(responseMs)}: timed out`);
    throw new RemoteError(`cannot reach ${urlOf(endpoint, path)}: ${describeNetworkError(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

async function failUnlessOk(response: Response): Promise<void> {
  if (response.ok) return;
  const text = await response.text().catch(() => '');
  let detail = text.trim().slice(0, 300);
  try {
    detail = errorText(JSON.parse(text) as unknown);
  } catch {
    // not JSON: the text itself
  }
  const hint = response.status === 401 || response.status === 403 ? ' (check the API key: LayerSkip: Set Remote API Key)' : '';
  throw new RemoteError(`${response.url || 'the remote server'} answered ${response.status} ${response.statusText}${detail === '' ? '' : `: ${detail}`}${hint}`);
}

/** The message inside OpenAI ({error: {message}}), FastAPI ({detail}) or plain ({message}) error bodies. */
function errorText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (typeof body !== 'object' || body === null) return JSON.stringify(body);
  const record = body as Record<string, unknown>;
  if (record.error !== undefined) return errorText(record.error);
  for (const key of ['message', 'detail']) {
    const value = record[key];
    if (typeof value === 'string') return value;
    if (value !== undefined) return JSON.stringify(value).slice(0, 300);
  }
  return JSON.stringify(body).slice(0, 300);
}

async function readJson(response: Response): Promise<unknown> {
  return parseJson(await response.text(), `${response.url} did not answer JSON`);
}

/** `text` parsed, or a RemoteError saying `what` with the text's beginning. */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RemoteError(`${what}: ${text.slice(0, 120)}`);
  }
}

/** "connection refused (ECONNREFUSED)", from undici's `fetch failed` and its cause. */
function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown }).code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the server running?)',
    ECONNRESET: 'the connection was reset',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name did not resolve',
    UND_ERR_SOCKET: 'the connection closed',
  };
  if (typeof code === 'string') return `${words[code] ?? (cause instanceof Error ? cause.message : String(cause))} (${code})`;
  if (cause instanceof Error && /redirect/i.test(cause.message)) return 'it redirected elsewhere; requests go to the configured URL only';
  return cause instanceof Error ? cause.message : String(cause);
}

function urlOf(endpoint: RemoteEndpoint, path: string): string {
  return `${endpoint.url.origin}${endpoint.url.pathname}/${path}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

/** Fires once after `ms` without a restart. */
class IdleTimer {
  fired = false;
  private timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly ms: number,
    private readonly onFire: () => void,
  ) {
    this.timer = this.arm();
  }

  restart(): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      this.fired = true;
      this.onFire();
    }, this.ms);
  }
}
