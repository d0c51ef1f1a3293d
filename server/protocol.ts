// The contract between the extension (client) and the LSP server, beyond standard LSP 3.18, and the JSON the
// `layerskip models` CLI prints for the extension's hub commands (end of this file).
// Imports nothing, so both sides (and other editors' integrations) can depend on it alone.
//
// Completions use the standard `textDocument/inlineCompletion` request. Streaming: when the request carries a
// `partialResultToken`, the server sends `$/progress` reports (InlineCompletionPartialResult) whose value is an
// InlineCompletionItem[] holding the suggestion *so far* (each report replaces the previous one, it does not append,
// because a growing suggestion is one item whose text gets longer). The final response always carries the complete
// list, so clients that ignore progress lose nothing.

/** Where the bundled default model package lives, relative to the extension/package root. */
export const DEFAULT_MODEL_DIR = 'media/models/default';

/**
 * The longest the client waits after a keystroke before it asks for a completion (the maximum of its adaptive
 * debounce, extension/debouncer.ts). The server keeps a cancelled request's generation this long, for the request of
 * the keystroke that cancelled it to take it over (server/completion/rules.ts adoptionGraceMs).
 */
export const CLIENT_DEBOUNCE_MAX_MS = 400;

export type DecodingMode = 'full' | 'early-exit' | 'self-speculative';
export const DECODING_MODES: readonly DecodingMode[] = ['self-speculative', 'early-exit', 'full'];

/** The decoding setting: a mode, or 'auto', the calibrated fastest setting (full decoding until calibrated). */
export type ModeSetting = 'auto' | DecodingMode;
export const MODE_SETTINGS: readonly ModeSetting[] = ['auto', ...DECODING_MODES];

export type DevicePreference = 'auto' | 'webgpu' | 'cuda' | 'cpu';
export const DEVICE_PREFERENCES: readonly DevicePreference[] = ['auto', 'webgpu', 'cuda', 'cpu'];

/**
 * Engine settings: handed to every generation as they are (server/engine/params.ts GenerationParams, same names,
 * which checks them), so the server names none of them. A new one is a field and its default here, and a
 * `layerskip.<same name>` setting in package.json; the extension reads every one by its name (extension/settings.ts).
 */
export interface EngineSettings {
  /**
   * Stop drafting when the draft's confidence falls under a threshold (and adapt d to recent acceptance): a model
   * whose early layers guess poorly then costs about what full decoding costs instead of wasting drafts.
   */
  adaptiveDraft: boolean;
  /** Generation stops at the next line end after this many ms (null = no budget). */
  timeBudgetMs: number | null;
}

/** Everything the client may change at run time; mirrors the `layerskip.*` settings (the engine's under `engine`). */
export interface ServerSettings {
  /** Model package folder; null = the bundled default (DEFAULT_MODEL_DIR). */
  modelPath: string | null;
  device: DevicePreference;
  mode: ModeSetting;
  /** Layer whose output drafts (1..numLayers-1); null = the package's recommended exit layer. */
  exitLayer: number | null;
  /** Tokens drafted per verification step; null = the package's recommendation. */
  draftLength: number | null;
  maxNewTokens: number;
  prefixTokens: number;
  suffixTokens: number;
  /** Add snippets from other open documents to the prompt. */
  crossFileContext: boolean;
  /** Calibrate a model in the background the first time it loads on this device (else only on request). */
  autoCalibrate: boolean;
  /**
   * A team server's OpenAI-compatible API (e.g. http://127.0.0.1:8080/v1) that generates instead of the local
   * engine; null = the local engine. The prompt is still built here, with the tokenizer and FIM template of the model
   * package at `modelPath` (the bundled one by default); its weights are not loaded. The API key travels apart from
   * the settings (SetRemoteApiKeyRequest).
   */
  remoteUrl: string | null;
  /** The model name sent to the remote server; null = the first model its /models lists. */
  remoteModel: string | null;
  engine: EngineSettings;
}

/** A settings change: the settings given replace the current ones, engine settings one by one. */
export type SettingsUpdate = Partial<Omit<ServerSettings, 'engine'>> & { engine?: Partial<EngineSettings> };

export const DEFAULT_SETTINGS: ServerSettings = {
  modelPath: null,
  device: 'auto',
  mode: 'auto',
  exitLayer: null,
  draftLength: null,
  maxNewTokens: 64,
  prefixTokens: 768,
  suffixTokens: 256,
  crossFileContext: true,
  autoCalibrate: true,
  remoteUrl: null,
  remoteModel: null,
  engine: { adaptiveDraft: true, timeBudgetMs: 1500 },
};

export const ENGINE_SETTING_NAMES = Object.keys(DEFAULT_SETTINGS.engine) as (keyof EngineSettings)[];

export interface InitializationOptions {
  settings?: SettingsUpdate;
  /**
   * The client shows completions with its own provider (the VS Code extension does: cache, debounce, streaming),
   * so the server does not advertise `inlineCompletionProvider` and vscode-languageclient registers no second one.
   * The request is answered either way.
   */
  clientProvidesInlineCompletion?: boolean;
  /** A folder the server may write to: calibrations are kept there (default: ~/.cache/layerskip). */
  storagePath?: string;
  /** The remote server's API key (settings.remoteUrl), from the client's secret storage; never logged. */
  remoteApiKey?: string;
}

export type ServerPhase = 'loading' | 'ready' | 'error';

export interface ModelSummary {
  path: string;
  name: string;
  numLayers: number;
  device: string;
  /** False when the package has no fill-in-the-middle tokens: prompts are then prefix-only. */
  hasFim: boolean;
  recommendedExitLayer: number;
  recommendedDraftLength: number;
}

/** How completions decode now, resolved from the settings and the calibration. */
export interface OperatingPoint {
  mode: DecodingMode;
  /** null for full decoding. */
  exitLayer: number | null;
  /** null unless self-speculative. */
  draftLength: number | null;
  /**
   * Engine settings this point decodes with instead of the user's: mode auto's calibrated choice runs as the
   * calibration timed it, with fixed drafts (adaptive drafting measured 10% slower there on the test model: 1.41x
   * against 1.57x).
   */
  engineOverrides: Partial<EngineSettings>;
  /**
   * 'calibrated': the calibration's choice (mode auto, or E / d left empty); 'settings': the user's own;
   * 'recommended': the package's recommendation (no calibration yet); 'uncalibrated': mode auto before any
   * calibration, which decodes in full (never slower than full decoding); 'remote': a remote server generates
   * (settings.remoteUrl), decoding as it is configured there.
   */
  source: 'calibrated' | 'settings' | 'recommended' | 'uncalibrated' | 'remote';
  /** Speedup over full decoding on this device: timed by the calibration, or predicted by it; null: not calibrated. */
  speedup: number | null;
  speedupBasis: 'measured' | 'predicted' | null;
}

export interface ServerState {
  phase: ServerPhase;
  /** Human-readable reason for 'error' (what is wrong and what to do), progress text for 'loading'. */
  message: string;
  model: ModelSummary | null;
  settings: ServerSettings;
  /** null until a model is ready. */
  operatingPoint: OperatingPoint | null;
  /**
   * A problem that does not stop completions, e.g. the remote server's last failure ("timed out after 10 s"); null
   * after the next completion that worked.
   */
  warning: string | null;
}

/** Measured figures of one finished completion, sent after each one. */
export interface CompletionStats {
  /** Request received -> response sent. */
  latencyMs: number;
  /** Request received -> first non-empty line of the suggestion ready. */
  firstLineMs: number | null;
  timeToFirstTokenMs: number;
  tokensPerSecond: number;
  promptTokens: number;
  promptCacheHitTokens: number;
  generatedTokens: number;
  drafted: number;
  accepted: number;
  acceptanceRate: number;
  /** tokens/s of this completion over tokens/s of full decoding measured at load; null until measured. */
  speedup: number | null;
  /**
   * Speedup over full decoding estimated from this run alone: tokens per draft-verify step over the step's measured
   * cost in full-forward units (Leviathan et al.'s formula with measured costs). Unlike `speedup`, it is not skewed
   * when the machine got busier or idler since the model was loaded. 1 for full decoding.
   */
  estimatedSpeedup: number;
  mode: DecodingMode;
  exitLayer: number;
  draftLength: number;
  device: string;
  model: string;
  stopReason: string;
  /** True when the suggestion was shown (not cancelled, not dropped by post-processing). */
  delivered: boolean;
  /** Prepared while the previous suggestion was shown, as if accepted (then latencyMs is only the wait for it). */
  lookAhead: boolean;
}

/** What the server has measured for one exit layer (drives the Set Exit Layer quick pick). */
export interface LayerMeasurement {
  exitLayer: number;
  completions: number;
  acceptanceRate: number;
  meanLatencyMs: number;
  tokensPerSecond: number;
}

/** Calibration (server/calibration/): one exit layer's agreement with the full model and its drafted-token cost. */
export interface CalibratedLayer {
  exitLayer: number;
  /** Fraction of positions of the sample where the draft head after layer E picks the full model's token. */
  agreement: number;
  /** Predicted ms of one drafted token at E on this device. */
  draftTokenMs: number;
}

/** The predicted speedup over full decoding of self-speculation at (E, d). */
export interface PredictedSetting {
  exitLayer: number;
  draftLength: number;
  /** Tokens per draft-verify step, replayed over the sample's agreement. */
  tokensPerStep: number;
  speedup: number;
}

/** A decoding setting timed by real generation (full decoding: exitLayer and draftLength null). */
export interface TimedSetting {
  mode: DecodingMode;
  exitLayer: number | null;
  draftLength: number | null;
  msPerToken: number;
  /** Full decoding's ms per token over this setting's, in the same run. */
  speedup: number;
}

/** What `layerskip calibrate --json` prints and the server keeps per (model, device, threads). */
export interface CalibrationResult {
  model: string;
  device: string;
  threads: number;
  cpu: string;
  /** ISO time the calibration finished. */
  createdAt: string;
  numLayers: number;
  sample: { source: string; tokens: number; windows: number };
  /** Full decoding, one token with the full head, at the sample's context length. */
  fullTokenMs: number;
  layers: CalibratedLayer[];
  predicted: PredictedSetting[];
  /** The best predicted settings and full decoding, timed by generation. */
  measured: TimedSetting[];
  /** The fastest measured setting; full decoding whenever nothing beats it. */
  chosen: TimedSetting;
  durationMs: number;
  /** CPU time the calibration used (the process's, all threads). */
  cpuSeconds: number;
}

export type CalibrationPhase = 'agreement' | 'costs' | 'timing';

/** Where a running calibration is (the status bar shows it). */
export interface CalibrationProgress {
  phase: CalibrationPhase;
  /** Of the whole calibration, 0..1. */
  fraction: number;
}

export type CalibrationState = 'none' | 'running' | 'done' | 'failed';

/** The calibration of the loaded model on this device (notification layerskip/calibration). */
export interface CalibrationStatus {
  state: CalibrationState;
  /** While running. */
  progress: CalibrationProgress | null;
  /** The latest finished calibration for this model, device and thread count (kept while a new one runs). */
  result: CalibrationResult | null;
  /** Why it failed; what was reused; '' otherwise. */
  message: string;
}

/**
 * A request of this protocol: its method name with the types of its params and result. Each side turns it into its
 * JSON-RPC library's typed request (server/lspMessages.ts, extension/serverClient.ts), so a handler and its callers
 * cannot disagree about either type. (`types` exists only for the compiler; it is never set.)
 */
export interface Request<P, R> {
  readonly method: string;
  readonly types?: { params: P; result: R };
}

/** A notification of this protocol: its method name with the type of its params. */
export interface Notification<P> {
  readonly method: string;
  readonly types?: { params: P };
}

/**
 * A `$/progress` stream of this protocol: the type of its reports. Each side sends or receives it through its own
 * JSON-RPC library's ProgressType, which carries nothing but that type either.
 */
export interface Progress<V> {
  readonly types?: { value: V };
}

const request = <P, R>(method: string): Request<P, R> => ({ method });
const notification = <P>(method: string): Notification<P> => ({ method });
const progress = <V>(): Progress<V> => ({});

/** Client -> server: partial settings; answers the state after applying them (model reload if needed). */
export const SetSettingsRequest = request<SettingsUpdate, ServerState>('layerskip/setSettings');
export const GetStateRequest = request<null, ServerState>('layerskip/getState');
/** Client -> server: what was measured per exit layer (layers never used are absent). */
export const GetLayerMeasurementsRequest = request<null, LayerMeasurement[]>('layerskip/layerMeasurements');
export const GetCalibrationRequest = request<null, CalibrationStatus>('layerskip/getCalibration');
/**
 * Client -> server: calibrates the loaded model now (or joins the calibration running). Cancelling the request
 * ($/cancelRequest) cancels a calibration it started.
 */
export const CalibrateRequest = request<null, CalibrationResult>('layerskip/calibrate');
/** Client -> server: cancels the calibration that runs (background or requested). */
export const CancelCalibrationRequest = request<null, void>('layerskip/cancelCalibration');
/**
 * Client -> server: the remote server's API key changed (set or cleared): the remote model is opened again with it.
 * Kept in memory only.
 */
export const SetRemoteApiKeyRequest = request<RemoteApiKeyParams, ServerState>('layerskip/setRemoteApiKey');

export interface RemoteApiKeyParams {
  apiKey: string | null;
}

/** Server -> client, whenever the calibration's status changes (progress included). */
export const CalibrationNotification = notification<CalibrationStatus>('layerskip/calibration');
/** Server -> client, whenever the phase, model, settings or warning change. */
export const StateNotification = notification<ServerState>('layerskip/state');
/** Server -> client, after every completion that ran the model. */
export const StatsNotification = notification<CompletionStats>('layerskip/stats');
/** Server -> client: drives the status bar spinner. */
export const GeneratingNotification = notification<GeneratingParams>('layerskip/generating');

/**
 * client -> server: the cursor came to rest somewhere the user did not type (a click, a jump, another file). The server
 * fills its prompt cache for a completion there meanwhile, so the first suggestion there skips most of the prefill.
 */
export const CursorNotification = notification<CursorParams>('layerskip/cursor');

export interface CursorParams {
  uri: string;
  position: { line: number; character: number };
}

export interface GeneratingParams {
  uri: string;
  generating: boolean;
}

/** A zero-based line and UTF-16 character offset, as LSP positions are. */
export interface TextPosition {
  line: number;
  character: number;
}

/** A suggestion as the server sends it: LSP's InlineCompletionItem, with the fields this server fills. */
export interface InlineSuggestion {
  insertText: string;
  range: { start: TextPosition; end: TextPosition };
}

/**
 * Server -> client, for a `textDocument/inlineCompletion` request with a `partialResultToken`: the suggestion so far,
 * each report replacing the previous one (top of this file).
 */
export const InlineCompletionPartialResult = progress<InlineSuggestion[]>();

// `layerskip models ... --json` (server/cli/models.ts), read by the extension's Download Model and Installed Models
// commands (extension/hub/).

/** A LayerSkip checkpoint on the Hugging Face Hub (server/hub/catalog.ts lists them). */
export interface KnownCheckpoint {
  repoId: string;
  parameters: string;
  layers: number;
  /** Approximate download (safetensors + tokenizer), bytes. */
  downloadBytes: number;
  recommendedExitLayer: number;
  recommendedDraftLength: number;
  /** Where E and d come from. */
  recommendationBasis: string;
  codeModel: boolean;
}

/** `layerskip models known --json`. */
export interface KnownCheckpointList {
  licenseNote: string;
  checkpoints: KnownCheckpoint[];
}

/** One entry of `layerskip models list --json` (undefined fields are absent from the JSON). */
export interface InstalledPackage {
  name: string;
  dir: string;
  bytes: number;
  dtype: string | undefined;
  /** Repo id (or path) the package was converted from, and the commit. */
  source: string | undefined;
  revision: string | null | undefined;
  convertedAt: string | undefined;
  /** Why the folder is not a usable package, if it is not. */
  problem: string | undefined;
}

/** The folder name, inside a models folder, of the package converted from `repoId` in `dtype`: {org}--{name}-{dtype}. */
export function packageName(repoId: string, dtype: string): string {
  return `${repoId.split('/').join('--')}-${dtype}`;
}
