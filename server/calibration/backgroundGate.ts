// Calibration runs beside the completions of the same engine worker, on the same cores: a completion must never wait
// for it. Background work runs in short units, only after foreground work (a completion's generation) has been quiet
// for a while; a foreground request aborts the unit in flight (its signal) and waits only for that unit's current
// onnxruntime call to end.

/** Runs one unit of work; `signal` aborts when foreground work arrives (the unit then stops early or is discarded). */
export type RunUnit = <T>(work: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** For callers that run nothing else (the CLI): units run at once and are never preempted. */
export const runAtOnce: RunUnit = (work) => work(new AbortController().signal);

/** Foreground work within this many ms keeps background units waiting (the user is typing). */
export const QUIET_MS = 1500;
const POLL_MS = 100;

export class BackgroundGate {
  private foregroundRunning = 0;
  private lastForegroundEnd = -Infinity;
  private preemption = new AbortController();
  private unit: Promise<unknown> = Promise.resolve();

  constructor(private readonly quietMs = QUIET_MS) {}

  /** Runs foreground work: background units stop, the one in flight is awaited, then `work` runs. */
  async foreground<T>(work: () => Promise<T>): Promise<T> {
    this.foregroundRunning++;
    this.preemption.abort();
    try {
      await this.unit;
      return await work();
    } finally {
      this.foregroundRunning--;
      this.lastForegroundEnd = performance.now();
      if (this.foregroundRunning === 0) this.preemption = new AbortController();
    }
  }

  /** Runs a unit of background work once foreground work has been quiet for quietMs. */
  readonly background: RunUnit = async (work) => {
    while (this.foregroundRunning > 0 || performance.now() - this.lastForegroundEnd < this.quietMs) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const run = work(this.preemption.signal);
    this.unit = run.catch(() => undefined);
    return run;
  };
}
