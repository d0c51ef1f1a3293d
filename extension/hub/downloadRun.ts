// One `layerskip download --progress json` run as the user sees it: a cancellable notification for the download
// (bytes, rate, time left), then one for the conversion (layers). Cancel asks the CLI to stop; a CLI busy converting
// is killed after a grace period and its staging folder removed, so no partial package is left.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, type CliEvent, type CliResult } from './cliRunner.js';
import type { HubDeps } from './downloadFlow.js';
import type { HubUi, PackageDtypeName, ProgressSink } from './hubUi.js';

export interface DownloadJob {
  repoId: string;
  dtype: PackageDtypeName;
  token: string | undefined;
  /** Replace an installed package of the same name (--force). */
  reinstall: boolean;
}

export async function runDownload(deps: HubDeps, job: DownloadJob): Promise<CliResult> {
  const { repoId, dtype, token, reinstall } = job;
  const args = ['download', repoId, '--out', deps.modelsDir, '--dtype', dtype, '--progress', 'json', ...(reinstall ? ['--force'] : [])];
  let cancel = (): void => {};
  // Two notifications, each with its own progress: the download, then the conversion.
  const download = openPhase(deps.ui, `LayerSkip: downloading ${repoId}`, () => cancel());
  let convert: Phase | undefined;
  const running = runCli(deps.launch, args, {
    token,
    onEvent: (event) => {
      if (event.event === 'convert' && !convert) {
        download.end();
        convert = openPhase(deps.ui, `LayerSkip: converting ${repoId} to ${dtype}`, () => cancel());
      }
      reportEvent(event, convert ?? download, deps.ui);
    },
  });
  cancel = () => running.cancel();
  try {
    const result = await running.result;
    // Killed during conversion (it cannot stop cleanly mid-layer): remove its staging folder now.
    if (result.signal !== null && running.pid !== undefined) await removeStagingOf(deps.modelsDir, running.pid);
    return result;
  } finally {
    download.end();
    convert?.end();
  }
}

interface Phase {
  report(message: string, percent?: number): void;
  end(): void;
}

/** A progress notification that stays open until end(); cancelling it calls onCancel. */
function openPhase(ui: HubUi, title: string, onCancel: () => void): Phase {
  let end = (): void => {};
  const finished = new Promise<void>((resolve) => (end = resolve));
  let sink: ProgressSink | undefined;
  ui.withProgress(title, async (progress) => {
    sink = progress;
    progress.onCancel(onCancel);
    await finished;
  }).catch((error: unknown) => ui.log(`progress display failed: ${String(error)}`));
  return { report: (message, percent) => sink?.report(message, percent), end };
}

function reportEvent(event: CliEvent, phase: Phase, ui: HubUi): void {
  if (event.event === 'download') {
    const done = Number(event.bytesDone);
    const total = Number(event.bytesTotal);
    const state = typeof event.retrying === 'string' ? ` (retrying: ${event.retrying})` : ` ${String(event.file)}`;
    phase.report(`${String(event.summary)}${state}`, total > 0 ? (100 * done) / total : undefined);
  } else if (event.event === 'convert') {
    const message = String(event.message);
    const layer = /layer (\d+)\/(\d+)/.exec(message);
    phase.report(message, layer ? (100 * Number(layer[1])) / Number(layer[2]) : undefined);
  } else if (event.event === 'note') {
    ui.log(String(event.message));
  }
}

/** Removes `.{name}.converting-{pid}` staging folders the killed CLI process `pid` left. */
export async function removeStagingOf(modelsDir: string, pid: number): Promise<void> {
  const names = await readdir(modelsDir).catch(() => [] as string[]);
  const suffix = `.converting-${pid}`;
  await Promise.all(names.filter((name) => name.startsWith('.') && name.endsWith(suffix)).map((name) => rm(join(modelsDir, name), { recursive: true, force: true })));
}
