// The LayerSkip commands. Each one that changes a setting writes `layerskip.*` (user settings); the configuration
// listener in extension.ts sends it to the server, so a setting changed by hand behaves the same way.
import * as vscode from 'vscode';
import { DEVICE_PREFERENCES, MODE_SETTINGS, type CalibrationResult, type CompletionStats, type LayerMeasurement } from '../server/protocol.js';
import { bestDraftPerLayer } from './calibrationChart.js';
import type { CalibrationPanel } from './calibrationPanel.js';
import { useCalibratedSetting } from './calibrationSettings.js';
import type { RemoteApiKey } from './remoteApiKey.js';
import type { ServerClient } from './serverClient.js';
import { isEnabled, serverSettings, updateSetting } from './settings.js';
import { MENU_COMMAND } from './statusBar.js';
import { pointLabel } from './statusText.js';

const MAX_DRAFT_LENGTH_OFFERED = 16;

interface CommandDeps {
  server: ServerClient;
  output: vscode.LogOutputChannel;
  lastStats: () => CompletionStats | null;
  calibrationPanel: CalibrationPanel;
  remoteApiKey: RemoteApiKey;
}

/** Command id -> [title shown in the menu, handler]; package.json `contributes.commands` lists the same ids. */
export function commandTable(deps: CommandDeps): Record<string, [string, () => Promise<unknown>]> {
  return {
    'layerskip.showCalibration': ['Show Calibration', async () => deps.calibrationPanel.show()],
    'layerskip.calibrate': ['Calibrate Now', () => calibrateNow(deps.server)],
    'layerskip.cancelCalibration': ['Cancel Calibration', () => deps.server.cancelCalibration()],
    'layerskip.useCalibratedSetting': ['Use the Calibrated Setting', () => useCalibratedSetting()],
    'layerskip.setExitLayer': ['Set Exit Layer', () => setExitLayer(deps.server)],
    'layerskip.setDraftLength': ['Set Draft Length', () => setDraftLength(deps.server)],
    'layerskip.selectMode': ['Select Decoding Mode', () => pickSetting('mode', MODE_SETTINGS, serverSettings().mode, 'Decoding mode (auto: the calibrated fastest)')],
    'layerskip.selectDevice': ['Select Device', () => pickSetting('device', DEVICE_PREFERENCES, serverSettings().device, 'Device for the model')],
    'layerskip.selectModelFolder': ['Select Model Folder', () => selectModelFolder()],
    'layerskip.restartServer': ['Restart Server', () => deps.server.restart()],
    'layerskip.setRemoteApiKey': ['Set Remote API Key', () => deps.remoteApiKey.ask()],
    'layerskip.forgetRemoteApiKey': ['Forget Remote API Key', () => deps.remoteApiKey.forget()],
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

async function calibrateNow(server: ServerClient): Promise<void> {
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'LayerSkip: calibrating', cancellable: true },
    async (progress, token) => {
      let reported = 0;
      const subscription = server.onCalibration((status) => {
        const fraction = status.progress?.fraction ?? reported;
        progress.report({ message: status.progress?.phase, increment: Math.max(0, (fraction - reported) * 100) });
        reported = Math.max(reported, fraction);
      });
      try {
        return await server.calibrate(token);
      } finally {
        subscription.dispose();
      }
    },
  );
  const chosen = result.chosen.mode === 'full' ? 'full decoding (no early-exit setting is faster here)' : `${pointLabel(result.chosen)}, ${result.chosen.speedup.toFixed(2)}× full decoding`;
  const choice = await vscode.window.showInformationMessage(`LayerSkip: fastest measured setting: ${chosen}.`, 'Show Calibration');
  if (choice === 'Show Calibration') await vscode.commands.executeCommand('layerskip.showCalibration');
}

async function setExitLayer(server: ServerClient): Promise<void> {
  const model = server.state.model;
  if (model === null) throw new Error('no model is loaded yet, so its layers are unknown');
  const measured = new Map((await server.layerMeasurements()).map((m) => [m.exitLayer, m]));
  const calibration = server.calibration.result;
  const calibrated = calibration === null ? null : new Map(calibration.layers.map((l) => [l.exitLayer, l]));
  const best = calibration === null ? null : bestDraftPerLayer(calibration);
  const current = server.state.operatingPoint?.exitLayer ?? serverSettings().exitLayer ?? model.recommendedExitLayer;
  const chosenLayer = calibration?.chosen.exitLayer ?? null;
  const items = Array.from({ length: model.numLayers - 1 }, (_, i) => {
    const layer = i + 1;
    const m = measured.get(layer);
    const c = calibrated?.get(layer);
    const b = best?.get(layer);
    const calibratedText = c && b ? `agrees ${percent(c.agreement)} · best d=${b.draftLength}: ${b.speedup.toFixed(2)}× full decoding (${b.basis})` : 'not calibrated yet';
    return {
      label: `E${layer}`,
      layer,
      description: [layer === chosenLayer ? 'calibrated best' : '', layer === model.recommendedExitLayer ? 'recommended' : '', layer === current ? 'current' : ''].filter(Boolean).join(', '),
      detail: m === undefined ? calibratedText : `${calibratedText} · in use: ${describeMeasurement(m)}`,
    };
  });
  const picked = await vscode.window.showQuickPick(items, {
    title: `Exit layer (drafts come from layer E of ${model.numLayers})`,
    placeHolder: calibration === null ? `Current: E${current}` : `Current: E${current}; speedups are this device's, from the calibration`,
  });
  if (picked === undefined) return;
  await updateSetting('exitLayer', picked.layer);
  // mode auto follows the calibration alone: an exit layer chosen by hand means self-speculation at it
  if (serverSettings().mode === 'auto') await updateSetting('mode', 'self-speculative');
}

function describeMeasurement(m: LayerMeasurement): string {
  return `acceptance ${percent(m.acceptanceRate)} · ${m.meanLatencyMs.toFixed(0)} ms per completion · ${m.tokensPerSecond.toFixed(0)} tokens/s (${m.completions} completions)`;
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

async function setDraftLength(server: ServerClient): Promise<void> {
  const current = serverSettings().draftLength;
  const exitLayer = server.state.operatingPoint?.exitLayer ?? null;
  const calibration: CalibrationResult | null = server.calibration.result;
  const predicted = (d: number): string => {
    const p = calibration?.predicted.find((q) => q.exitLayer === exitLayer && q.draftLength === d);
    return p === undefined ? '' : `${p.speedup.toFixed(2)}× full decoding at E${exitLayer} (predicted)`;
  };
  const items = [
    { label: 'Calibrated / recommended', value: null as number | null, description: current === null ? 'current' : '', detail: '' },
    ...Array.from({ length: MAX_DRAFT_LENGTH_OFFERED }, (_, i) => ({ label: String(i + 1), value: i + 1 as number | null, description: current === i + 1 ? 'current' : '', detail: predicted(i + 1) })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Draft length (tokens drafted per verification)' });
  if (picked === undefined) return;
  await updateSetting('draftLength', picked.value);
  if (picked.value !== null && serverSettings().mode === 'auto') await updateSetting('mode', 'self-speculative');
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
  if (last) lines.push(`  last completion: ${last.latencyMs.toFixed(0)} ms, ${pointLabel(last)}`, `  ${JSON.stringify(last)}`);
  const measured = await deps.server.layerMeasurements();
  for (const m of measured) lines.push(`  E${m.exitLayer}: ${describeMeasurement(m)}`);
  if (measured.length === 0) lines.push('  no completions measured yet');
  for (const line of lines) deps.output.info(line);
  deps.output.show(true);
}
