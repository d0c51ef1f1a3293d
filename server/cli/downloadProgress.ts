// How `layerskip download` shows what it is doing: a one-line progress bar on a terminal, plain lines in logs,
// or JSON events on stdout for the VS Code extension. Every text goes through redact() so a token can never
// reach the screen or a log, whatever an error message contains.
import { redact } from '../hub/errors.js';
import { describeProgress, type TransferProgress } from '../hub/progress.js';

export type ProgressMode = 'bar' | 'json' | 'none';

/** Events of `--progress json`, one JSON object per stdout line. */
export type DownloadEvent =
  | { event: 'note'; message: string }
  | ({ event: 'download'; summary: string } & TransferProgress)
  | { event: 'convert'; message: string }
  | { event: 'done'; packageDir?: string; name?: string; snapshotDir: string; commit: string; bytesFetched: number }
  | { event: 'error'; kind: string; message: string };

export interface ProgressReporter {
  note(message: string): void;
  download(progress: TransferProgress): void;
  convert(message: string): void;
  done(result: Omit<Extract<DownloadEvent, { event: 'done' }>, 'event'>): void;
  failed(kind: string, message: string): void;
  /** Ends a progress bar line. */
  finish(): void;
}

const BAR_WIDTH = 28;

export function progressBar(progress: TransferProgress): string {
  const fraction = progress.bytesTotal > 0 ? Math.min(1, progress.bytesDone / progress.bytesTotal) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
  const state = progress.retrying ? `retrying: ${progress.retrying}` : `${progress.file} (${progress.fileIndex + 1}/${progress.fileCount})`;
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent} ${describeProgress(progress)}  ${state}`;
}

/** Where the reporter writes (process.stdout / process.stderr, or a test's buffer). */
export interface OutputStreams {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

export function createProgressReporter(mode: ProgressMode, token: string | undefined, streams: OutputStreams = { out: process.stdout, err: process.stderr }): ProgressReporter {
  const safe = (text: string): string => redact(text, token);
  if (mode === 'json') {
    const emit = (event: DownloadEvent): void => void streams.out.write(safe(JSON.stringify(event)) + '\n');
    return {
      note: (message) => emit({ event: 'note', message }),
      download: (progress) => emit({ event: 'download', summary: describeProgress(progress), ...progress }),
      convert: (message) => emit({ event: 'convert', message }),
      done: (result) => emit({ event: 'done', ...result }),
      failed: (kind, message) => emit({ event: 'error', kind, message }),
      finish: () => {},
    };
  }
  let barShown = false;
  let lastPlainPercent = -10;
  const line = (text: string): void => {
    if (barShown) streams.err.write('\n');
    barShown = false;
    streams.err.write(safe(text) + '\n');
  };
  return {
    note: line,
    download: (progress) => {
      if (mode === 'bar') {
        streams.err.write('\r' + safe(progressBar(progress)).slice(0, 160) + '\x1b[K');
        barShown = true;
        return;
      }
      // Logs: one line per 10 %, and each retry.
      const percent = progress.bytesTotal > 0 ? (100 * progress.bytesDone) / progress.bytesTotal : 100;
      if (progress.retrying || percent >= lastPlainPercent + 10 || percent === 100) {
        lastPlainPercent = Math.floor(percent / 10) * 10;
        line(`download: ${describeProgress(progress)}${progress.retrying ? ` (retrying: ${progress.retrying})` : ''}`);
      }
    },
    convert: (message) => line(`convert: ${message}`),
    done: (result) => {
      line(result.packageDir ? `installed ${result.name ?? ''} in ${result.packageDir}` : `downloaded to ${result.snapshotDir}`);
      if (result.packageDir) streams.out.write(result.packageDir + '\n');
      else streams.out.write(result.snapshotDir + '\n');
    },
    failed: (kind, message) => line(kind === 'cancelled' ? 'cancelled: partial downloads are kept in the HF cache and resume next time' : `error: ${message}`),
    finish: () => {
      if (barShown) streams.err.write('\n');
      barShown = false;
    },
  };
}
