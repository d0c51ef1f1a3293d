// `layerskip download <repo-id>`: fetch a checkpoint from the Hugging Face Hub into the shared HF cache (resumable,
// verified), convert it to a model package in --out, print where it is. Honours HF_ENDPOINT, HF_TOKEN,
// HF_HOME / HF_HUB_CACHE and HF_HUB_OFFLINE. `--progress json` prints one JSON event per line for the VS Code
// extension, which cancels by writing "cancel" to stdin.
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { PACKAGE_DTYPES, type PackageDtype } from '../model/weightEncoding.js';
import { KNOWN_CHECKPOINTS, LAYERSKIP_LICENSE_NOTE, knownCheckpoint } from '../hub/catalog.js';
import { hubEnvironment } from '../hub/env.js';
import { HubError, redact } from '../hub/errors.js';
import { installModel } from '../hub/install.js';
import { formatBytes, type TransferProgress } from '../hub/progress.js';
import { downloadSnapshot } from '../hub/snapshot.js';
import { createProgressReporter, type ProgressMode } from './downloadProgress.js';

const USAGE = `usage: layerskip download <repo-id> [--revision R] [--out DIR] [--dtype ${PACKAGE_DTYPES.join('|')}]
                          [--force] [--no-convert] [--progress bar|json|none]

  Downloads a Hugging Face checkpoint into the HF cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)
  and converts it to a LayerSkip model package in --out (default ./models), named <org>--<name>-<dtype>.
  Environment: HF_ENDPOINT (mirror), HF_TOKEN (gated repos), HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE.

known LayerSkip checkpoints (${LAYERSKIP_LICENSE_NOTE}):
${KNOWN_CHECKPOINTS.map((c) => `  ${c.repoId.padEnd(34)} ${c.parameters.padStart(5)}  ~${formatBytes(c.downloadBytes).padStart(7)}  E=${c.recommendedExitLayer} d=${c.recommendedDraftLength}`).join('\n')}`;

function parseDtype(value: string): PackageDtype {
  if (!(PACKAGE_DTYPES as readonly string[]).includes(value)) {
    throw new Error(`--dtype must be one of ${PACKAGE_DTYPES.join(', ')}, got "${value}"`);
  }
  return value as PackageDtype;
}

function parseMode(value: string): ProgressMode {
  if (value !== 'bar' && value !== 'json' && value !== 'none') throw new Error(`--progress must be bar, json or none, got "${value}"`);
  return value;
}

/**
 * Aborts on Ctrl-C / SIGTERM, or on a "cancel" line on stdin (the extension's way on every platform).
 * `restoreDefaultSignals` hands Ctrl-C back to Node's default (exit at once) for the conversion, which runs
 * synchronously and could not notice an abort; its staging folder is removed by the next run.
 */
function cancellation(listenOnStdin: boolean): { signal: AbortSignal; restoreDefaultSignals: () => void; dispose: () => void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.on('SIGINT', abort);
  process.on('SIGTERM', abort);
  const lines = listenOnStdin ? createInterface({ input: process.stdin }) : undefined;
  lines?.on('line', (line) => {
    if (line.trim() === 'cancel') abort();
  });
  const restoreDefaultSignals = (): void => {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  };
  return {
    signal: controller.signal,
    restoreDefaultSignals,
    dispose: () => {
      restoreDefaultSignals();
      lines?.close();
      if (listenOnStdin) process.stdin.destroy();
    },
  };
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      revision: { type: 'string', default: 'main' },
      out: { type: 'string', default: 'models' },
      dtype: { type: 'string', default: 'int8' },
      force: { type: 'boolean', default: false },
      'no-convert': { type: 'boolean', default: false },
      progress: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const [repoId, ...extra] = positionals;
  if (values.help || repoId === undefined || extra.length > 0) {
    process.stderr.write(USAGE + '\n');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const dtype = parseDtype(values.dtype);
  const mode = parseMode(values.progress ?? (process.stderr.isTTY ? 'bar' : 'none'));
  const hub = hubEnvironment();
  const reporter = createProgressReporter(mode, hub.token);
  const known = knownCheckpoint(repoId);
  if (known) reporter.note(`${known.repoId}: ${LAYERSKIP_LICENSE_NOTE} Model page: ${hub.endpoint}/${known.repoId}`);
  const { signal, restoreDefaultSignals, dispose } = cancellation(mode === 'json');
  const onDownloadProgress = (progress: TransferProgress): void => reporter.download(progress);
  try {
    if (values['no-convert']) {
      const snapshot = await downloadSnapshot({
        repoId,
        revision: values.revision,
        hubCache: hub.hubCache,
        offline: hub.offline,
        connection: { endpoint: hub.endpoint, token: hub.token, signal },
        onProgress: onDownloadProgress,
      });
      reporter.done({ snapshotDir: snapshot.dir, commit: snapshot.commit, bytesFetched: snapshot.bytesFetched });
      return;
    }
    const result = await installModel({
      repoId,
      revision: values.revision,
      dtype,
      modelsDir: resolve(values.out),
      hub,
      force: values.force,
      signal,
      onDownloadProgress,
      onConvertProgress: (message) => reporter.convert(message),
      beforeConvert: restoreDefaultSignals,
    });
    reporter.done({
      packageDir: result.packageDir,
      name: result.name,
      snapshotDir: result.snapshot.dir,
      commit: result.snapshot.commit,
      bytesFetched: result.snapshot.bytesFetched,
    });
  } catch (error) {
    const kind = error instanceof HubError ? error.kind : 'error';
    const message = redact(error instanceof Error ? error.message : String(error), hub.token);
    reporter.failed(kind, message);
    process.exitCode = kind === 'cancelled' ? 130 : 1;
  } finally {
    reporter.finish();
    dispose();
  }
}

export const command = { summary: 'download a checkpoint from the Hugging Face Hub and convert it', usage: USAGE, run };
