// Retry policy shared by API calls and file transfers: transient failures (dropped connections, 5xx, 429) are
// retried with exponential backoff, honouring Retry-After; everything else fails at once.
import { HubError } from './errors.js';
import { sleep } from './http.js';

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** First backoff delay; doubles each time. */
  baseDelayMs: number;
  /** Cap for any single wait, including a server's Retry-After. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Whether trying the same request again may succeed. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof HubError)) return false;
  return error.kind === 'network' || error.kind === 'rate-limited' || error.kind === 'server';
}

export function backoffMs(policy: RetryPolicy, attempt: number, error: unknown): number {
  const requested = error instanceof HubError ? error.retryAfterSeconds : undefined;
  const exponential = policy.baseDelayMs * 2 ** attempt;
  return Math.min(policy.maxDelayMs, requested !== undefined ? requested * 1000 : exponential);
}

/**
 * Runs `attempt` until it succeeds, fails permanently or runs out of retries. `onRetry` is told about each
 * transient failure (for progress displays). `madeProgress`, if given, is asked after a failure: an attempt that
 * moved the transfer forward starts the count again, so a long download over a flaky link is not given up on.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
  onRetry?: (error: HubError) => void,
  madeProgress?: () => boolean,
): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await attempt();
    } catch (error) {
      if (madeProgress?.()) failures = 0;
      if (!isTransient(error) || failures >= policy.retries || signal?.aborted) throw error;
      onRetry?.(error as HubError);
      await sleep(backoffMs(policy, failures, error), signal);
    }
  }
}
