// The LayerSkip commands. Each one that changes a setting writes `layerskip.*` (user settings); the configuration
// listener in extension.ts sends it to the server, so a setting changed by hand behaves the same way.
import * as vscode from 'vscode';
import { DECODING_MODES, DEVICE_PREFERENCES, type CompletionStats, type LayerMeasurement } from '../server/protocol.js';
import type { ServerClient } from './serverClient.js';
import { isEnabled, serverSettings, updateSetting } from './settings.js';
import { MENU_COMMAND, summary } from './statusBar.js';

const MAX_DRAFT_LENGTH_OFFERED = 16;

interface CommandDeps {
  server: ServerClient;
  output: vscode.LogOutputChannel;
  lastStats: () => CompletionStats | null;
}

/** Command id -> [title shown in the menu, handler]; package.json `contributes.commands` lists the same ids. */
export function commandTable(deps: CommandDeps): Record<string, [string, () => Promise<unknown>]> {
  return {
    'layerskip.setExitLayer': ['Set Exit Layer', () => setExitLayer(deps.server)],
    'layerskip.setDraftLength': ['Set Draft Length', () => setDraftLength()],
    'layerskip.selectMode': ['Select Decoding Mode', () => pickSetting('mode', DECODING_MODES, serverSettings().mode, 'Decoding mode')],
    'layerskip.selectDevice': ['Select Device', () => pickSetting('device', DEVICE_PREFERENCES, serverSettings().device, 'Device for the model')],
    'layerskip.selectModelFolder': ['Select Model Folder', () => selectModelFolder()],
    'layerskip.restartServer': ['Restart Server', () => deps.server.restart()],
    'layerskip.showStatistics': ['Show Statistics', () => showStatistics(deps)],
    'layerskip.toggle': ['Toggle Inline Completions', () => updateSetting('enable', !isEnabled())],
    'layerskip.trigger': ['Trigger Inline Completion', async () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger')],
  };
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const table = commandTable(deps);
  const run = (id: string, handler: () => Promise<unknown>) => showingErrors(handler, (message) => deps.output.error(`${id}: ${message}`));
  const menu = async (): Promise<void> => {
    const picked = await vscode.window.showQuickPick(
      Object.entries(table).map(([id, [title]]) => ({ label: title, id })),
      { title: 'LayerSkip', placeHolder: 'LayerSkip command' },
    );
    if (picked) await vscode.commands.executeCommand(picked.id);
  };
  return [
    ...Object.entries(table).map(([id, [, handler]]) => vscode.commands.registerCommand(id, run(id, handler))),
    vscode.commands.registerCommand(MENU_COMMAND, run(MENU_COMMAND, menu)),
  ];
}

/** A command handler whose failure is logged with `log` and shown to the user as an error message. */
export function showingErrors(handler: () => Promise<unknown>, log: (message: string) => void): () => Promise<void> {
  return async () => {
    try {
      await handler();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(message);
      void vscode.window.showErrorMessage(`LayerSkip: ${message}`);
    }
  };
}

async function setExitLayer(server: ServerClient): Promise<void> {
  const model = server.state.model;
  if (model === null) throw new Error('no model is loaded yet, so its layers are unknown');
  const measured = new Map((await server.layerMeasurements()).map((m) => [m.exitLayer, m]));
  const current = serverSettings().exitLayer ?? model.recommendedExitLayer;
  const items = Array.from({ length: model.numLayers - 1 }, (_, i) => {
    const layer = i + 1;
    const m = measured.get(layer);
    return {
      label: `E${layer}`,
      layer,
      description: [layer === model.recommendedExitLayer ? 'recommended' : '', layer === current ? 'current' : ''].filter(Boolean).join(', '),
      detail: m === undefined ? 'not measured yet' : describeMeasurement(m),
    };
  });
  const picked = await vscode.window.showQuickPick(items, {
    title: `Exit layer (drafts come from layer E of ${model.numLayers})`,
    placeHolder: `Current: E${current}`,
  });
  if (picked) await updateSetting('exitLayer', picked.layer);
}

function describeMeasurement(m: LayerMeasurement): string {
  return `acceptance ${Math.round(m.acceptanceRate * 100)}% · ${m.meanLatencyMs.toFixed(0)} ms per completion · ${m.tokensPerSecond.toFixed(0)} tokens/s (${m.completions} completions)`;
}

async function setDraftLength(): Promise<void> {
  const current = serverSettings().draftLength;
  const items = [
    { label: 'Recommended by the model', value: null as number | null, description: current === null ? 'current' : '' },
    ...Array.from({ length: MAX_DRAFT_LENGTH_OFFERED }, (_, i) => ({ label: String(i + 1), value: i + 1 as number | null, description: current === i + 1 ? 'current' : '' })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Draft length (tokens drafted per verification)' });
  if (picked) await updateSetting('draftLength', picked.value);
}

async function pickSetting(key: string, values: readonly string[], current: string, title: string): Promise<void> {
  const picked = await vscode.window.showQuickPick(
    values.map((value) => ({ label: value, description: value === current ? 'current' : '' })),
    { title },
  );
  if (picked) await updateSetting(key, picked.label);
}

async function selectModelFolder(): Promise<void> {
  const bundled = 'Use the bundled model';
  const choice = await vscode.window.showQuickPick([bundled, 'Choose a folder…'], { title: 'Model package' });
  if (choice === bundled) return updateSetting('modelPath', '');
  if (choice === undefined) return;
  const folders = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model package' });
  if (folders?.[0]) await updateSetting('modelPath', folders[0].fsPath);
}

async function showStatistics(deps: CommandDeps): Promise<void> {
  const state = deps.server.state;
  const lines = [`LayerSkip statistics`, `  state: ${state.phase} — ${state.message}`];
  if (state.model) lines.push(`  model: ${state.model.name}, ${state.model.numLayers} layers, device ${state.model.device}, FIM ${state.model.hasFim}`);
  const last = deps.lastStats();
  if (last) lines.push(`  last completion: ${summary(last)}`, `  ${JSON.stringify(last)}`);
  const measured = await deps.server.layerMeasurements();
  for (const m of measured) lines.push(`  E${m.exitLayer}: ${describeMeasurement(m)}`);
  if (measured.length === 0) lines.push('  no completions measured yet');
  for (const line of lines) deps.output.info(line);
  deps.output.show(true);
}
