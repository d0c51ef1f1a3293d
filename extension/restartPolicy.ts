// Bounded restarts of a dying server: at most `limit` restarts within `windowMs`; beyond that the user gets a clear
// error and a Restart action instead of a crash loop.

export class RestartPolicy {
  private restarts: number[] = [];

  constructor(
    readonly limit = 5,
    readonly windowMs = 3 * 60_000,
  ) {}

  /** Called when the server died at `now`: true if it may be restarted (and counts that restart). */
  allowRestart(now: number): boolean {
    this.restarts = this.restarts.filter((at) => now - at < this.windowMs);
    if (this.restarts.length >= this.limit) return false;
    this.restarts.push(now);
    return true;
  }

  /** A manual restart starts a fresh budget. */
  reset(): void {
    this.restarts = [];
  }
}
