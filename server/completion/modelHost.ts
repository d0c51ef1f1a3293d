// The model's lifecycle as the server sees it: settings in, a loaded engine (or a clear error) out. A load runs in
// the background; automatic completions asked for meanwhile get no items, explicit ones wait for it (whenSettled).
// A broken model path, a failed load or an engine that died is an 'error' state with a message the client shows; the
// server itself keeps running. How completions decode (the operating point) follows the settings and the model's
// calibration on this device. With settings.remoteUrl a remote server generates instead (server/remote/): the
// model is then that server, opened with the API key the client sent apart from the settings.
import {
  DEFAULT_SETTINGS,
  ENGINE_SETTING_NAMES,
  type CalibrationStatus,
  type DevicePreference,
  type ModelSummary,
  type OperatingPoint,
  type ServerSettings,
  type ServerState,
  type SettingsUpdate,
} from '../protocol.js';
import { Calibrations, type CalibrationSources, type CalibrationTarget } from './calibrations.js';
import type { ModelInUse } from './completionService.js';
import type { CompletionEngine } from './engine.js';
import { operatingPoint } from './operatingPoint.js';
import { PromptBuilder, type FimMarkers } from './prompt.js';
import type { FimTokens } from '../model/manifest.js';
import { parseRemoteUrl } from '../remote/openAiApi.js';

export interface OpenedModel {
  engine: CompletionEngine;
  summary: ModelSummary;
  /** Put in front of every prompt when the model has one (Llama-family models expect it). */
  bosTokenId: number | null;
  /** null: the package has no FIM tokens (prefix-only prompts). */
  fim: (FimMarkers & { endOfText: string | null }) | null;
  /** How to calibrate this model on its device, and what the calibration is kept under; null: nothing to calibrate. */
  calibration: CalibrationTarget | null;
  /** Subscribes to the engine's unexpected end (its worker died); returns an unsubscribe. */
  onDied: (listener: (message: string) => void) => () => void;
}

/** What to open: a local model package, or a remote server that generates with prompts built from a package. */
export type ModelSource =
  | { kind: 'package'; path: string; device: DevicePreference }
  | { kind: 'remote'; url: string; model: string | null; apiKey: string | null; promptPackage: string };

export type OpenModel = (source: ModelSource, log: (message: string) => void) => Promise<OpenedModel>;

/** The prompt's FIM markers from a package's (or tokenizer's) infilling tokens. */
export function fimMarkers(fim: FimTokens | null): OpenedModel['fim'] {
  return fim === null ? null : { prefix: fim.prefix, suffix: fim.suffix, middle: fim.middle, endOfText: fim.eot };
}

/** A remote server that could not be reached is tried again by a completion request after this long. */
const REMOTE_RETRY_MS = 5_000;

/** A short full-decoding run after each load: it warms the sessions up and measures the speedup reference. */
const WARMUP_PROMPT = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n';
const WARMUP_TOKENS = 16;
/** Tokens of the short generation that builds the sessions of a newly calibrated operating point. */
const ARRANGE_TOKENS = 2;

export class ModelHost {
  private settings: ServerSettings = { ...DEFAULT_SETTINGS };
  private opened: OpenedModel | null = null;
  private fullTokensPerSecond: number | null = null;
  private prompts: PromptBuilder | null = null;
  private current: ServerState = { phase: 'loading', message: 'Starting', model: null, settings: this.settings, operatingPoint: null, warning: null };
  /** The remote server's API key (never in the settings, the state or a log line). */
  private remoteApiKey: string | null = null;
  private lastLoadAt = 0;
  /** Increases with every load request; a load that finishes after a newer one started is discarded. */
  private loadNumber = 0;
  private loading: Promise<void> = Promise.resolve();
  private readonly settledWaiters = new Set<() => void>();
  readonly calibrations: Calibrations;

  constructor(
    private readonly openModel: OpenModel,
    private readonly defaultModelPath: string,
    private readonly onState: (state: ServerState) => void,
    private readonly log: (message: string) => void,
    calibrationSources: CalibrationSources,
    onCalibration: (status: CalibrationStatus) => void,
  ) {
    this.calibrations = new Calibrations(
      calibrationSources,
      (status) => {
        onCalibration(status);
        if (status.state !== 'running') this.operatingPointChanged();
      },
      log,
    );
  }

  get state(): ServerState {
    return this.current;
  }

  /**
   * Resolves when no load is in progress (the model is ready or failed), or after `timeoutMs`, or when `signal`
   * aborts: an explicitly asked completion waits for the model instead of getting nothing.
   */
  whenSettled(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.current.phase !== 'loading' || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.settledWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.settledWaiters.add(done);
    });
  }

  get currentSettings(): ServerSettings {
    return this.settings;
  }

  /** Applies settings (validated against the loaded model); reloads when the model path or device changed. */
  async applySettings(update: SettingsUpdate): Promise<ServerState> {
    // only the engine's own settings: any other key would reach every generation and fail it there
    const engine = { ...this.settings.engine, ...pick(withoutUndefined(update.engine ?? {}), ENGINE_SETTING_NAMES) };
    const next = { ...this.settings, ...withoutUndefined(update), engine };
    validate(next, this.opened?.summary ?? null);
    const reload = this.opened === null || (['modelPath', 'device', 'remoteUrl', 'remoteModel'] as const).some((key) => next[key] !== this.settings[key]);
    this.settings = next;
    if (reload) {
      await this.reload();
    } else {
      this.setState({ ...this.current, settings: next, operatingPoint: this.resolvePoint(next) });
    }
    return this.current;
  }

  /** The remote server's API key changed: a remote model is opened again with it. */
  async setRemoteApiKey(apiKey: string | null): Promise<ServerState> {
    const key = apiKey === null || apiKey.trim() === '' ? null : apiKey.trim();
    if (key === this.remoteApiKey) return this.current;
    this.remoteApiKey = key;
    if (this.settings.remoteUrl !== null) await this.reload();
    return this.current;
  }

  /**
   * A completion found no model because the remote server could not be reached (or the key was refused): it is
   * tried again, at most every few seconds, so that a team server coming back needs no restart.
   */
  retryRemote(): void {
    const { phase } = this.current;
    if (phase !== 'error' || this.settings.remoteUrl === null || performance.now() - this.lastLoadAt < REMOTE_RETRY_MS) return;
    this.loading = this.load(true).catch((error: unknown) => this.log(`retrying the remote server: ${messageOf(error)}`));
  }

  /**
   * Something the user should know that does not stop the model (a remote server's timeout, 5xx or dropped stream;
   * settings ignored at start): shown until a completion works.
   */
  warn(message: string): void {
    if (this.current.warning !== message) this.setState({ ...this.current, warning: message });
  }

  completionSucceeded(): void {
    if (this.current.warning !== null) this.setState({ ...this.current, warning: null });
  }

  /** The model to complete with, or null when none is ready (loading, error). */
  modelInUse(): ModelInUse | null {
    if (this.current.phase !== 'ready' || this.opened === null || this.prompts === null) return null;
    const { engine, summary, fim } = this.opened;
    const point = this.pointOf(this.opened, this.settings);
    return {
      engine,
      prompts: this.prompts,
      decoding: {
        mode: point.mode,
        exitLayer: point.exitLayer ?? summary.numLayers,
        draftLength: point.draftLength ?? summary.recommendedDraftLength,
        ...point.engineOverrides,
      },
      fimEndOfText: fim?.endOfText ?? null,
      name: summary.name,
      fullTokensPerSecond: this.fullTokensPerSecond,
    };
  }

  /** A document was closed: what was kept for it (the prompt's anchor) goes. */
  forgetDocument(uri: string): void {
    this.prompts?.forget(uri);
  }

  /** The engine died (its worker ended unasked): show it, allow a reload. */
  private engineFailed(error: unknown): void {
    const opened = this.opened;
    this.opened = null;
    this.calibrations.modelGone();
    this.setState({ ...this.current, phase: 'error', operatingPoint: null, warning: null, message: `The model engine stopped: ${messageOf(error)}. Change a setting or restart the server to reload it.` });
    opened?.engine.dispose().catch((disposeError: unknown) => this.log(`dispose after failure: ${messageOf(disposeError)}`));
  }

  async dispose(): Promise<void> {
    this.loadNumber++;
    this.calibrations.modelGone();
    await this.loading.catch(() => undefined);
    const opened = this.opened;
    this.opened = null;
    await opened?.engine.dispose();
  }

  private async reload(): Promise<void> {
    this.loading = this.load();
    await this.loading;
  }

  /** `retry`: a background retry of a model in the error state, which stays in it (no loading flicker, no new message) unless the retry works. */
  private async load(retry = false): Promise<void> {
    const number = ++this.loadNumber;
    this.lastLoadAt = performance.now();
    const source = this.source();
    const previous = this.opened;
    this.opened = null;
    this.prompts = null;
    this.calibrations.modelGone();
    const what = source.kind === 'remote' ? `Connecting to the remote server at ${source.url}` : `Loading the model from ${source.path}`;
    if (!retry) this.setState({ phase: 'loading', message: what, model: null, settings: this.settings, operatingPoint: null, warning: null });
    await previous?.engine.dispose().catch((error: unknown) => this.log(`dispose of the previous model: ${messageOf(error)}`));
    let opened: OpenedModel;
    try {
      opened = await this.openModel(source, this.log);
    } catch (error) {
      if (number !== this.loadNumber) return;
      const message = source.kind === 'remote'
        ? `Cannot use the remote server at ${source.url}: ${messageOf(error)}. Completions try it again every few seconds; fix layerskip.remoteUrl / remoteModel, or clear remoteUrl to use the local model.`
        : `Cannot load the model package at ${source.path}: ${messageOf(error)}. Choose a model folder (LayerSkip: Select Model Folder) or clear layerskip.modelPath to use the bundled model.`;
      if (retry && message === this.current.message) return;
      this.log(message);
      this.setState({ phase: 'error', message, model: null, settings: this.settings, operatingPoint: null, warning: null });
      return;
    }
    if (number !== this.loadNumber) {
      await opened.engine.dispose();
      return;
    }
    this.opened = opened;
    const unsubscribe = opened.onDied((message) => {
      unsubscribe();
      if (this.opened === opened) this.engineFailed(new Error(message));
    });
    this.prompts = new PromptBuilder((text) => Promise.resolve(opened.engine.tokenize(text)), opened.fim, opened.bosTokenId);
    // a remote server's speed is its own business (and asking it costs a request): no reference is measured
    this.fullTokensPerSecond = opened.calibration === null ? null : await this.measureFullDecoding(opened);
    if (number !== this.loadNumber) return;
    const model = opened.summary;
    this.log(`Model ready: ${model.name}, ${model.numLayers} layers on ${model.device}, FIM ${model.hasFim ? 'yes' : 'no (prefix-only prompts)'}, full decoding ${this.fullTokensPerSecond?.toFixed(1) ?? '?'} tokens/s`);
    if (opened.calibration !== null) this.calibrations.modelReady(opened.calibration, this.settings.autoCalibrate);
    const where = source.kind === 'remote' ? `${model.name} on the remote server ${source.url}` : `${model.name} on ${model.device}`;
    // an exit layer set before this model was known that it does not have: the recommendation instead, said once,
    // rather than every completion failing
    const problem = exitLayerProblem(this.settings.exitLayer, model);
    if (problem !== null) {
      this.log(`exit layer ignored: ${problem}`);
      this.settings = { ...this.settings, exitLayer: null };
    }
    const warning = problem === null ? null : ignoredSettingWarning(problem);
    this.setState({ phase: 'ready', message: where, model, settings: this.settings, operatingPoint: this.resolvePoint(this.settings), warning });
  }

  private source(): ModelSource {
    const { remoteUrl, remoteModel, modelPath, device } = this.settings;
    const path = modelPath ?? this.defaultModelPath;
    return remoteUrl === null
      ? { kind: 'package', path, device }
      : { kind: 'remote', url: remoteUrl, model: remoteModel, apiKey: this.remoteApiKey, promptPackage: path };
  }

  private resolvePoint(settings: ServerSettings): OperatingPoint | null {
    return this.opened === null ? null : this.pointOf(this.opened, settings);
  }

  private pointOf(opened: OpenedModel, settings: ServerSettings): OperatingPoint {
    return opened.calibration === null ? REMOTE_POINT : operatingPoint(settings, opened.summary, this.calibrations.current.result);
  }

  /**
   * A calibration finished (or was found, or cancelled): the operating point may have moved. Its sessions are built
   * now, by a 2-token generation, so that the next completion does not wait for them.
   */
  private operatingPointChanged(): void {
    const point = this.resolvePoint(this.settings);
    const before = this.current.operatingPoint;
    if (this.current.phase !== 'ready' || point === null || JSON.stringify(point) === JSON.stringify(before)) return;
    this.setState({ ...this.current, operatingPoint: point });
    const model = this.modelInUse();
    if (model === null) return;
    const params = { ...model.decoding, maxNewTokens: ARRANGE_TOKENS, temperature: 0 };
    Promise.resolve(model.engine.tokenize(WARMUP_PROMPT))
      .then((prompt) => model.engine.generate(prompt, params, {}))
      .catch((error: unknown) => this.log(`building the sessions of the new operating point: ${messageOf(error)}`));
  }

  private async measureFullDecoding(opened: OpenedModel): Promise<number | null> {
    try {
      const prompt = [...(opened.bosTokenId === null ? [] : [opened.bosTokenId]), ...(await opened.engine.tokenize(WARMUP_PROMPT))];
      const result = await opened.engine.generate(prompt, { mode: 'full', maxNewTokens: WARMUP_TOKENS, temperature: 0 }, {});
      return result.stats.tokensPerSecond > 0 ? result.stats.tokensPerSecond : null;
    } catch (error) {
      this.log(`warm-up generation failed: ${messageOf(error)}`);
      return null;
    }
  }

  private setState(state: ServerState): void {
    this.current = state;
    this.onState(state);
    if (state.phase !== 'loading') for (const settled of [...this.settledWaiters]) settled();
  }
}

/** A remote server decodes as it is configured there; to completion it is one full-model generation. */
const REMOTE_POINT: OperatingPoint = { mode: 'full', exitLayer: null, draftLength: null, engineOverrides: {}, source: 'remote', speedup: null, speedupBasis: null };

function validate(settings: ServerSettings, model: ModelSummary | null): void {
  if (settings.remoteUrl !== null) parseRemoteUrl(settings.remoteUrl);
  const { draftLength } = settings;
  const exitLayer = exitLayerProblem(settings.exitLayer, model);
  if (exitLayer !== null) throw new RangeError(exitLayer);
  if (draftLength !== null && (!Number.isInteger(draftLength) || draftLength < 1 || draftLength > 64)) {
    throw new RangeError(`draft length must be an integer from 1 to 64 (got ${draftLength})`);
  }
  if (!Number.isInteger(settings.maxNewTokens) || settings.maxNewTokens < 1) {
    throw new RangeError(`max new tokens must be a positive integer (got ${settings.maxNewTokens})`);
  }
  // the engine checks its parameters at every generation; a bad setting is refused here, once, not at every keystroke
  const { timeBudgetMs, adaptiveDraft } = settings.engine;
  if (timeBudgetMs !== null && !(Number.isFinite(timeBudgetMs) && timeBudgetMs > 0)) {
    throw new RangeError(`time budget must be empty (no limit) or a positive number of milliseconds (got ${timeBudgetMs})`);
  }
  if (typeof adaptiveDraft !== 'boolean') throw new RangeError(`adaptive draft must be true or false (got ${String(adaptiveDraft)})`);
}

/** Why `exitLayer` does not fit `model` (null: it does, or is unset, or the model is not known yet). */
function exitLayerProblem(exitLayer: number | null, model: ModelSummary | null): string | null {
  if (exitLayer === null) return null;
  // a remote server's layers are not the extension's to choose (its model may not even say how many it has)
  const max = model === null || model.device === 'remote' ? Infinity : model.numLayers - 1;
  return Number.isInteger(exitLayer) && exitLayer >= 1 && exitLayer <= max ? null : `exit layer must be an integer from 1 to ${max} (got ${exitLayer})`;
}

/** The warning for a setting the server could not use and replaced by its default. */
export function ignoredSettingWarning(reason: string): string {
  return `A LayerSkip setting was ignored (${reason}); its default is used until it is fixed.`;
}

function pick<T extends object>(partial: Partial<T>, keys: readonly (keyof T)[]): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([key]) => (keys as readonly string[]).includes(key))) as Partial<T>;
}

function withoutUndefined<T extends object>(partial: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
