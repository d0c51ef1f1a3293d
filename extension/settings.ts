// The `layerskip.*` settings: read into the server's settings and the client's own, written by the commands.
import * as vscode from 'vscode';
import {
  DEFAULT_SETTINGS,
  type DevicePreference,
  type ModeSetting,
  type ServerSettings,
} from '../server/protocol.js';

export const SECTION = 'layerskip';

/** Settings that go to the server, and whose change therefore triggers a layerskip/setSettings: every ServerSettings key. */
const SERVER_KEYS = Object.keys(DEFAULT_SETTINGS) as (keyof ServerSettings)[];

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
    adaptiveDraft: c.get<boolean>('adaptiveDraft', DEFAULT_SETTINGS.adaptiveDraft),
    maxNewTokens: c.get<number>('maxNewTokens', DEFAULT_SETTINGS.maxNewTokens),
    timeBudgetMs: c.get<number | null>('timeBudgetMs', DEFAULT_SETTINGS.timeBudgetMs) || null,
    prefixTokens: c.get<number>('prefixTokens', DEFAULT_SETTINGS.prefixTokens),
    suffixTokens: c.get<number>('suffixTokens', DEFAULT_SETTINGS.suffixTokens),
    crossFileContext: c.get<boolean>('crossFileContext', DEFAULT_SETTINGS.crossFileContext),
    autoCalibrate: c.get<boolean>('autoCalibrate', DEFAULT_SETTINGS.autoCalibrate),
    remoteUrl: optionalText(c.get<string>('remoteUrl', '')),
    remoteModel: optionalText(c.get<string>('remoteModel', '')),
  };
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
