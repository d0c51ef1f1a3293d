// "LayerSkip: Download Model": pick a checkpoint, make sure there is a token if one may be needed, download and
// convert in the CLI process with a cancellable progress notification, then point layerskip.modelPath at the new
// package (the server reloads on that setting: no window reload).
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readCliJson, runCli, type CliEvent, type CliLaunch, type CliResult } from './cliRunner.js';
import type { HubUi, KnownCheckpointInfo, PackageDtypeName, ProgressSink, UiAction } from './hubUi.js';
import type { TokenStore } from './tokenStore.js';

export interface HubDeps {
  ui: HubUi;
  tokens: TokenStore;
  launch: CliLaunch;
  /** Where packages are installed (globalStorage/models in VS Code). */
  modelsDir: string;
  /** Base URL for model pages (HF_ENDPOINT or huggingface.co). */
  endpoint: string;
}

interface KnownList {
  licenseNote: string;
  checkpoints: KnownCheckpointInfo[];
}

export async function downloadModelCommand(deps: HubDeps): Promise<void> {
  const known = (await readCliJson(deps.launch, ['models', 'known', '--json'])) as KnownList;
  const repoId = await deps.ui.pickCheckpoint(known.checkpoints, known.licenseNote);
  if (!repoId) return;
  const dtype = await deps.ui.pickDtype();
  if (!dtype) return;
  const installed = join(deps.modelsDir, `${repoId.split('/').join('--')}-${dtype}`);
  if (await exists(installed)) {
    await deps.ui.info(
      `LayerSkip: ${repoId} (${dtype}) is already installed.`,
      { label: 'Use It', run: () => deps.ui.setModelPath(installed) },
      { label: 'Reinstall', run: async () => downloadAndSwitch(deps, repoId, dtype, (await deps.tokens.current()).token, { reinstall: true }) },
    );
    return;
  }
  let { token } = await deps.tokens.current();
  if (!token) {
    // Asked once: a saved token is reused by every later download.
    const gated = known.checkpoints.some((checkpoint) => checkpoint.repoId === repoId);
    token = await askAndSaveToken(deps, gated ? `${repoId} is gated: a Hugging Face token is needed (after accepting its license).` : 'Gated or private repos need a Hugging Face token (Escape to go on without one).');
  }
  await downloadAndSwitch(deps, repoId, dtype, token);
}

export async function askAndSaveToken(deps: HubDeps, why: string): Promise<string | undefined> {
  const token = (await deps.ui.askToken(why))?.trim();
  if (!token) return undefined;
  await deps.tokens.save(token);
  deps.ui.log('Hugging Face token saved in the editor secret storage.');
  return token;
}

export async function downloadAndSwitch(deps: HubDeps, repoId: string, dtype: PackageDtypeName, token: string | undefined, options: { reinstall?: boolean } = {}): Promise<void> {
  const { ui } = deps;
  const modelPage = `${deps.endpoint}/${repoId}`;
  ui.log(`download ${repoId} (${dtype}) into ${deps.modelsDir}`);
  const result = await runDownload(deps, repoId, dtype, token, options.reinstall === true);
  const done = result.events.find((event) => event.event === 'done');
  if (done && typeof done.packageDir === 'string') {
    await ui.setModelPath(done.packageDir);
    ui.log(`installed ${repoId} in ${done.packageDir}; layerskip.modelPath switched to it`);
    await ui.info(`LayerSkip: ${repoId} (${dtype}) is installed and now used for completions.`);
    return;
  }
  const error = result.events.find((event) => event.event === 'error');
  const kind = typeof error?.kind === 'string' ? error.kind : 'crash';
  const message = typeof error?.message === 'string' ? error.message : describeCrash(result);
  ui.log(`download ${repoId} failed (${kind}): ${message}`);
  if (kind === 'cancelled' || (result.signal !== null && kind === 'crash')) {
    await ui.info('LayerSkip: download cancelled. Files already downloaded stay in the Hugging Face cache, so the next download resumes.');
    return;
  }
  // A retry picks up a token saved in the meantime (e.g. by the Set Token button).
  const retry = async (): Promise<void> => downloadAndSwitch(deps, repoId, dtype, (await deps.tokens.current()).token ?? token, options);
  await ui.error(`LayerSkip: ${message}`, ...errorActions(deps, kind, modelPage, retry));
}

/** Buttons that help with each kind of failure. */
export function errorActions(deps: HubDeps, kind: string, modelPage: string, retry: () => Promise<void>): UiAction[] {
  const openPage: UiAction = { label: 'Open Model Page', run: () => deps.ui.openUrl(modelPage) };
  const setToken: UiAction = {
    label: 'Set Token',
    run: async () => {
      if (await askAndSaveToken(deps, 'Paste a Hugging Face read token.')) await retry();
    },
  };
  switch (kind) {
    case 'gated-login':
    case 'bad-token':
      return [setToken, openPage];
    case 'gated-not-accepted':
    case 'gated-pending':
    case 'forbidden':
    case 'repo-not-found':
    case 'revision-not-found':
      return [openPage];
    case 'network':
    case 'server':
    case 'rate-limited':
    case 'checksum':
      return [{ label: 'Retry', run: retry }];
    default:
      return [];
  }
}

function describeCrash(result: CliResult): string {
  const stderr = result.stderrTail.trim().split('\n').slice(-3).join(' ');
  return `the download process ended unexpectedly (exit ${result.exitCode ?? result.signal ?? '?'})${stderr ? `: ${stderr}` : ''}`;
}

async function runDownload(deps: HubDeps, repoId: string, dtype: PackageDtypeName, token: string | undefined, reinstall: boolean): Promise<CliResult> {
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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
