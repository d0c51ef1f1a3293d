// The `layerskip.*` settings: read into the server's settings and the client's own, written by the commands. The
// settings are flat for the user; the engine's travel to the server in `engine`, read here by name.
import * as vscode from 'vscode';
import {
  DEFAULT_SETTINGS,
  ENGINE_SETTING_NAMES,
  type DevicePreference,
  type EngineSettings,
  type ModeSetting,
  type ServerSettings,
} from '../server/protocol.js';

export const SECTION = 'layerskip';

/** Settings that go to the server, and whose change therefore triggers a layerskip/setSettings. */
const SERVER_KEYS: readonly string[] = [...Object.keys(DEFAULT_SETTINGS).filter((key) => key !== 'engine'), ...ENGINE_SETTING_NAMES];

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

export function serverSettings(): ServerSettings {
  const c = config();
  return {
    modelPath: optionalText(c.get<string>('modelPath', '')),
    device: c.get<DevicePreference>('device', DEFAULT_SETTINGS.device),
    mode: c.get<ModeSetting>('mode', DEFAULT_SETTINGS.mode),
    exitLayer: c.get<number | null>('exitLayer', null) || null,
    draftLength: c.get<number | null>('draftLength', null) || null,
    maxNewTokens: c.get<number>('maxNewTokens', DEFAULT_SETTINGS.maxNewTokens),
    prefixTokens: c.get<number>('prefixTokens', DEFAULT_SETTINGS.prefixTokens),
    suffixTokens: c.get<number>('suffixTokens', DEFAULT_SETTINGS.suffixTokens),
    crossFileContext: c.get<boolean>('crossFileContext', DEFAULT_SETTINGS.crossFileContext),
    autoCalibrate: c.get<boolean>('autoCalibrate', DEFAULT_SETTINGS.autoCalibrate),
    remoteUrl: optionalText(c.get<string>('remoteUrl', '')),
    remoteModel: optionalText(c.get<string>('remoteModel', '')),
    engine: engineSettings(c),
  };
}

/** Every engine setting as the user set it (`layerskip.<name>`): a new one needs nothing here. */
function engineSettings(c: vscode.WorkspaceConfiguration): EngineSettings {
  const engine = { ...DEFAULT_SETTINGS.engine };
  const read = <K extends keyof EngineSettings>(name: K): void => {
    engine[name] = c.get<EngineSettings[K]>(name, engine[name]);
  };
  ENGINE_SETTING_NAMES.forEach(read);
  // a time budget of 0 has always meant no limit here (settings.json accepts it, the engine does not)
  if (engine.timeBudgetMs !== null && engine.timeBudgetMs <= 0) engine.timeBudgetMs = null;
  return engine;
}

/** An empty text setting means "not set". */
function optionalText(value: string): string | null {
  const text = value.trim();
  return text === '' ? null : text;
}

export function affectsServer(event: vscode.ConfigurationChangeEvent): boolean {
  return SERVER_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`));
}

export function completionsEnabled(languageId: string): boolean {
  const c = config();
  if (!c.get<boolean>('enable', true)) return false;
  const languages = c.get<Record<string, boolean>>('languages', {});
  return languages[languageId] ?? languages['*'] ?? true;
}

export async function updateSetting(key: string, value: unknown): Promise<void> {
  await config().update(key, value, vscode.ConfigurationTarget.Global);
}

export function isEnabled(): boolean {
  return config().get<boolean>('enable', true);
}
