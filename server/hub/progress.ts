// Transfer progress: bytes done of total, a smoothed rate and the time left, plus human formatting.

export interface TransferProgress {
  /** File being transferred (repo path). */
  file: string;
  fileIndex: number;
  fileCount: number;
  bytesDone: number;
  bytesTotal: number;
  /** Smoothed bytes per second; undefined until there is enough to say. */
  bytesPerSecond: number | undefined;
  etaSeconds: number | undefined;
  /** Set while waiting to retry after a transient failure. */
  retrying?: string;
}

/** Rate over a sliding window of recent samples: reacts to stalls within seconds, steady otherwise. */
export class RateMeter {
  private samples: { at: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records that `bytesDone` bytes are done in total, now. */
  record(bytesDone: number): void {
    const at = this.now();
    this.samples.push({ at, bytes: bytesDone });
    while (this.samples.length > 2 && at - (this.samples[1]?.at ?? at) > this.windowMs) this.samples.shift();
  }

  /** Forgets history (after bytes were discarded, e.g. the server restarted a file). */
  reset(): void {
    this.samples = [];
  }

  bytesPerSecond(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 250) return undefined;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.at - first.at));
  }
}

export function etaSeconds(bytesLeft: number, bytesPerSecond: number | undefined): number | undefined {
  if (bytesPerSecond === undefined || bytesPerSecond <= 0) return undefined;
  return bytesLeft / bytesPerSecond;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const mmss = `${String(minutes).padStart(2, '0')}:${String(secs).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

/** "1.2 GB / 2.5 GB, 35.0 MB/s, 00:37 left" */
export function describeProgress(progress: TransferProgress): string {
  const rate = progress.bytesPerSecond === undefined ? '' : `, ${formatBytes(progress.bytesPerSecond)}/s`;
  const eta = progress.etaSeconds === undefined ? '' : `, ${formatDuration(progress.etaSeconds)} left`;
  return `${formatBytes(progress.bytesDone)} / ${formatBytes(progress.bytesTotal)}${rate}${eta}`;
}
