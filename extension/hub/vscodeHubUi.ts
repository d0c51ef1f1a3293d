// HubUi with VS Code's API: quick picks, a masked input box for the token, progress notifications, and the
// layerskip.modelPath setting (user scope) whose change makes the running server load the new model.
import * as vscode from 'vscode';
import type { InstalledPackage, KnownCheckpoint } from '../../server/protocol.js';
import type { HubUi, PackageDtypeName, UiAction } from './hubUi.js';
import { validateToken } from './tokenStore.js';

const MODEL_PATH_SETTING = 'modelPath';

function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1)} MB`;
}

const DTYPE_ITEMS: (vscode.QuickPickItem & { dtype: PackageDtypeName })[] = [
  { dtype: 'int8', label: 'int8', description: 'recommended', detail: '8-bit weights: about half the size of the download, fast on CPU, near-identical output' },
  { dtype: 'int4', label: 'int4', detail: '4-bit weights: smallest and fastest, some quality loss' },
  { dtype: 'fp16', label: 'fp16', detail: 'same size as the download on disk, float32 in memory' },
  { dtype: 'fp32', label: 'fp32', detail: 'exact weights, twice the size of the download' },
];

async function showMessage(kind: 'info' | 'error', message: string, actions: UiAction[]): Promise<void> {
  const labels = actions.map((action) => action.label);
  const chosen = kind === 'error' ? await vscode.window.showErrorMessage(message, ...labels) : await vscode.window.showInformationMessage(message, ...labels);
  await actions.find((action) => action.label === chosen)?.run();
}

export function createVscodeHubUi(output: vscode.LogOutputChannel): HubUi {
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('layerskip');
  return {
    async pickCheckpoint(known: KnownCheckpoint[], licenseNote: string) {
      const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { repoId?: string }>();
      pick.title = 'LayerSkip: Download Model';
      pick.placeholder = 'Pick a LayerSkip checkpoint, or type any Hugging Face repo id (org/name)';
      const knownItems = known.map((checkpoint) => ({
        repoId: checkpoint.repoId,
        label: checkpoint.repoId,
        description: `${checkpoint.parameters} · ~${formatBytes(checkpoint.downloadBytes)}${checkpoint.codeModel ? ' · code' : ''}`,
        detail: `E=${checkpoint.recommendedExitLayer} of ${checkpoint.layers} layers, d=${checkpoint.recommendedDraftLength} (${checkpoint.recommendationBasis}). ${licenseNote}`,
      }));
      const refresh = (): void => {
        const typed = pick.value.trim();
        const custom = typed && /^[\w.-]+\/[\w.-]+$/.test(typed) && !known.some((c) => c.repoId === typed)
          ? [{ repoId: typed, label: typed, description: 'repo id typed in', alwaysShow: true }]
          : [];
        pick.items = [...custom, ...knownItems];
      };
      refresh();
      return new Promise<string | undefined>((resolve) => {
        pick.onDidChangeValue(refresh);
        pick.onDidAccept(() => {
          resolve(pick.selectedItems[0]?.repoId);
          pick.hide();
        });
        pick.onDidHide(() => {
          resolve(undefined);
          pick.dispose();
        });
        pick.show();
      });
    },
    async pickDtype() {
      const chosen = await vscode.window.showQuickPick(DTYPE_ITEMS, { title: 'LayerSkip: package precision', placeHolder: 'How to store the weights' });
      return chosen?.dtype;
    },
    askToken: (why) =>
      Promise.resolve(
        vscode.window.showInputBox({
          title: 'Hugging Face token',
          prompt: `${why} It is kept in the editor's secret storage, never in settings. Create one at https://huggingface.co/settings/tokens`,
          placeHolder: 'hf_…',
          password: true,
          ignoreFocusOut: true,
          validateInput: validateToken,
        }),
      ),
    withProgress: (title, task) =>
      Promise.resolve(
        vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, cancellation) => {
          let shown = 0;
          return task({
            report: (message, percent) => {
              // VS Code takes increments; a phase never goes backwards.
              const increment = percent === undefined ? undefined : Math.max(0, percent - shown);
              if (percent !== undefined) shown = Math.max(shown, percent);
              progress.report({ message, increment });
            },
            onCancel: (listener) => void cancellation.onCancellationRequested(listener),
          });
        }),
      ),
    async pickInstalled(models: InstalledPackage[], currentDir: string | undefined) {
      const items = models.map((model) => ({
        model,
        label: `${model.dir === currentDir ? '$(check) ' : ''}${model.name}`,
        description: `${formatBytes(model.bytes)}${model.dtype ? ` · ${model.dtype}` : ''}`,
        detail: model.problem ? `Not usable: ${model.problem}` : `from ${model.source ?? 'unknown'}${model.revision ? `@${model.revision.slice(0, 12)}` : ''}`,
        buttons: [{ iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Remove' }],
      }));
      const pick = vscode.window.createQuickPick<(typeof items)[number]>();
      pick.title = 'LayerSkip: Installed Models';
      pick.placeholder = 'Pick a model to use it; the trash button removes it';
      pick.items = items;
      return new Promise<{ model: InstalledPackage; action: 'use' | 'remove' } | undefined>((resolve) => {
        pick.onDidAccept(() => {
          const item = pick.selectedItems[0];
          resolve(item ? { model: item.model, action: 'use' } : undefined);
          pick.hide();
        });
        pick.onDidTriggerItemButton((event) => {
          resolve({ model: event.item.model, action: 'remove' });
          pick.hide();
        });
        pick.onDidHide(() => {
          resolve(undefined);
          pick.dispose();
        });
        pick.show();
      });
    },
    async confirm(message, confirmLabel) {
      return (await vscode.window.showWarningMessage(message, { modal: true }, confirmLabel)) === confirmLabel;
    },
    info: (message, ...actions) => showMessage('info', message, actions),
    error: (message, ...actions) => showMessage('error', message, actions),
    async openUrl(url) {
      await vscode.env.openExternal(vscode.Uri.parse(url));
    },
    currentModelPath: () => config().get<string>(MODEL_PATH_SETTING)?.trim() || undefined,
    async setModelPath(dir) {
      // Where the setting is defined for this workspace, so that the change is the one in effect.
      const defined = config().inspect<string>(MODEL_PATH_SETTING);
      const target = defined?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      await config().update(MODEL_PATH_SETTING, dir ?? '', target);
    },
    log: (line) => output.info(`[hub] ${line}`),
  };
}
