// "LayerSkip: Download Model": pick a checkpoint, make sure there is a token if one may be needed, download and
// convert (downloadRun.ts), then point layerskip.modelPath at the new package (the server reloads on that setting:
// no window reload), or explain the failure with buttons that help.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { packageName, type KnownCheckpointList } from '../../server/protocol.js';
import { readCliJson, type CliLaunch, type CliResult } from './cliRunner.js';
import { runDownload } from './downloadRun.js';
import type { HubUi, PackageDtypeName, UiAction } from './hubUi.js';
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

export async function downloadModelCommand(deps: HubDeps): Promise<void> {
  const known = (await readCliJson(deps.launch, ['models', 'known', '--json'])) as KnownCheckpointList;
  const repoId = await deps.ui.pickCheckpoint(known.checkpoints, known.licenseNote);
  if (!repoId) return;
  const dtype = await deps.ui.pickDtype();
  if (!dtype) return;
  const installed = join(deps.modelsDir, packageName(repoId, dtype));
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
  const result = await runDownload(deps, { repoId, dtype, token, reinstall: options.reinstall === true });
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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
