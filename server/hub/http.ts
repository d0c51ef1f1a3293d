// HTTP for the Hub with Node's built-in fetch (undici): no dependency, AbortSignal and streaming bodies built in.
// Redirects are followed by hand because the Authorization header must only ever go to the Hub itself: LFS files
// redirect to a signed CDN URL on another host, which must not see the token.
import { HubError, classifyReply, networkError, type RequestContext } from './errors.js';

const MAX_REDIRECTS = 5;

export interface HubRequest {
  url: string;
  token: string | undefined;
  /** Origin (scheme://host:port) that may receive the token. */
  trustedOrigin: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  context: RequestContext;
  /** Human words for network error messages ("listing files"). */
  what: string;
}

const USER_AGENT = 'layerskip-completion/0.1 (node; hub-client)';

export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

/** Sends one request, following redirects; a non-2xx final reply becomes a classified HubError. */
export async function hubFetch(request: HubRequest): Promise<Response> {
  let url = request.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      // Identity encoding: byte offsets in Range requests must be offsets in the stored file.
      'accept-encoding': 'identity',
      ...request.headers,
    };
    if (request.token && new URL(url).origin === request.trustedOrigin) {
      headers.authorization = `Bearer ${request.token}`;
    }
    let response: Response;
    try {
      response = await fetch(url, { headers, redirect: 'manual', signal: request.signal });
    } catch (error) {
      if (isAbort(error, request.signal)) throw new HubError('cancelled', 'Download cancelled.', { cause: error });
      throw networkError(error, request.what);
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      url = new URL(location, url).toString();
      continue;
    }
    if (response.ok || response.status === 206 || response.status === 416) return response;
    const bodyText = await response.text().catch(() => undefined);
    if (new URL(url).origin !== request.trustedOrigin && response.status < 500) {
      // A signed CDN URL that expired or was refused: asking the Hub again gives a fresh one (retried by callers).
      throw new HubError('server', `The download server refused the link for ${request.context.file ?? request.context.repoId} (${response.status}); asking the Hub for a new one.`);
    }
    throw classifyReply({ status: response.status, headers: response.headers, bodyText }, request.context);
  }
  throw new HubError('server', `Too many redirects while ${request.what} (${request.url}).`);
}

/** Waits, unless the signal aborts first (then throws a 'cancelled' HubError). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new HubError('cancelled', 'Download cancelled.'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new HubError('cancelled', 'Download cancelled.'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
