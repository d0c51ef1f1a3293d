// Composition root of the LSP server (stdio): wires text document sync, completion and the `layerskip/*`
// requests. Usable from any LSP client: `node dist/server.js --stdio`.
import { homedir } from 'node:os';
import * as path from 'node:path';
import {
  createConnection,
  ProposedFeatures,
  ResponseError,
  ErrorCodes,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CalibrationStore } from './calibration/calibrationStore.js';
import { bundledSample } from './calibration/codeSample.js';
import { CompletionService } from './completion/completionService.js';
import { CompletionActivity } from './completion/completionActivity.js';
import { CompletionRequests } from './completion/completionRequests.js';
import { InlineCompletionHandler } from './completion/inlineCompletionHandler.js';
import { LayerMeasurements } from './completion/layerMeasurements.js';
import { ignoredSettingWarning, messageOf, ModelHost } from './completion/modelHost.js';
import { openModelPackage } from './completion/openModel.js';
import { notify, onRequest } from './lspMessages.js';
import { openRemoteModel } from './remote/openRemoteModel.js';
import { RecentDocuments } from './completion/recentDocuments.js';
import {
  CalibrateRequest,
  CalibrationNotification,
  CancelCalibrationRequest,
  DEFAULT_MODEL_DIR,
  DEFAULT_SETTINGS,
  ENGINE_SETTING_NAMES,
  GetCalibrationRequest,
  GetLayerMeasurementsRequest,
  GetStateRequest,
  SetRemoteApiKeyRequest,
  SetSettingsRequest,
  StateNotification,
  type InitializationOptions,
  type SettingsUpdate,
} from './protocol.js';

// dist/server.js -> the package root holding media/.
const packageRoot = path.resolve(__dirname, '..');

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const log = (message: string): void => connection.console.log(message);
const measurements = new LayerMeasurements();
const recent = new RecentDocuments(documents);
// where calibrations are kept: the client's storage folder (initializationOptions.storagePath), else the user's cache
const calibrationStore = { dir: path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'layerskip', 'calibrations') };
const host = new ModelHost(
  (source, log) => (source.kind === 'package' ? openModelPackage(source.path, source.device, log) : openRemoteModel(source, log)),
  path.join(packageRoot, DEFAULT_MODEL_DIR),
  (state) => notify(connection, StateNotification, state),
  log,
  { store: new CalibrationStore(() => calibrationStore.dir), texts: () => recent.texts(), bundled: bundledSample(packageRoot) },
  (status) => notify(connection, CalibrationNotification, status),
);
let initialSettings: SettingsUpdate = {};
let initialApiKey: string | null = null;

connection.onInitialize((params): InitializeResult => {
  const options = (params.initializationOptions ?? {}) as InitializationOptions;
  initialSettings = options.settings ?? {};
  initialApiKey = options.remoteApiKey ?? null;
  if (options.storagePath) calibrationStore.dir = path.join(options.storagePath, 'calibrations');
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      ...(options.clientProvidesInlineCompletion ? {} : { inlineCompletionProvider: true }),
    },
    serverInfo: { name: 'layerskip-completion', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  // the key first: with the default settings it opens nothing, and the settings' load then has it
  host
    .setRemoteApiKey(initialApiKey)
    .then(() => host.applySettings(initialSettings))
    .catch(async (error: unknown) => {
      // A bad value in the user's settings must not cost them their completions: the tunable ones fall back to their
      // defaults, and the status bar says which setting was ignored and why.
      log(`initial settings rejected: ${messageOf(error)}; exit layer, draft length, max new tokens and engine settings fall back to their defaults`);
      const { exitLayer, draftLength, maxNewTokens, engine } = DEFAULT_SETTINGS;
      await host.applySettings({ ...initialSettings, exitLayer, draftLength, maxNewTokens, engine });
      host.warn(ignoredSettingWarning(messageOf(error)));
    })
    .catch((error: unknown) => log(`settings rejected: ${messageOf(error)}`));
});

onRequest(connection, GetStateRequest, () => host.state);
onRequest(connection, GetLayerMeasurementsRequest, () => measurements.list());
onRequest(connection, SetSettingsRequest, async (settings) => {
  try {
    const before = host.currentSettings.modelPath;
    const state = await host.applySettings(settings);
    if (state.settings.modelPath !== before) measurements.clear();
    return state;
  } catch (error) {
    throw new ResponseError(ErrorCodes.InvalidParams, messageOf(error));
  }
});

onRequest(connection, SetRemoteApiKeyRequest, (params) => host.setRemoteApiKey(params.apiKey));
onRequest(connection, GetCalibrationRequest, () => host.calibrations.current);
onRequest(connection, CancelCalibrationRequest, () => host.calibrations.cancel());
onRequest(connection, CalibrateRequest, async (_params, token) => {
  const subscription = token.onCancellationRequested(() => host.calibrations.cancel());
  try {
    return await host.calibrations.start();
  } catch (error) {
    throw new ResponseError(ErrorCodes.InternalError, messageOf(error));
  } finally {
    subscription.dispose();
  }
});

// Other editors configure the server through workspace/didChangeConfiguration ({ layerskip: {...} }), under the
// settings' own flat names: the engine's are gathered into `engine` here.
connection.onDidChangeConfiguration((change) => {
  const settings = (change.settings as { layerskip?: Record<string, unknown> } | null)?.layerskip;
  if (settings) host.applySettings(nestEngineSettings(settings)).catch((error: unknown) => log(`settings rejected: ${messageOf(error)}`));
});

/** Flat settings as an update: the engine settings' names go into `engine` (the values are checked where used). */
function nestEngineSettings(flat: Record<string, unknown>): SettingsUpdate {
  const update: Record<string, unknown> = {};
  const engine: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(flat)) ((ENGINE_SETTING_NAMES as readonly string[]).includes(name) ? engine : update)[name] = value;
  return { ...update, engine } as SettingsUpdate;
}

const completionRequests = new CompletionRequests(documents, log);
const activity = new CompletionActivity(connection, measurements);
new InlineCompletionHandler(connection, documents, completionRequests, host, new CompletionService(), activity, log).listen();

connection.onShutdown(() => host.dispose());
documents.listen(connection);
connection.listen();
