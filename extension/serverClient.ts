// The LSP server process as the extension sees it: started with vscode-languageclient over stdio, restarted when it
// dies (bounded by RestartPolicy, then a clear error with a Restart action), and wrapped in typed calls.
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  InlineCompletionRequest,
  LanguageClient,
  ProgressType,
  State,
  TransportKind,
  type InlineCompletionList,
  type InlineCompletionParams,
} from 'vscode-languageclient/node';
import {
  CalibrateRequest,
  CalibrationNotification,
  CursorNotification,
  CancelCalibrationRequest,
  GeneratingNotification,
  GetCalibrationRequest,
  GetLayerMeasurementsRequest,
  InlineCompletionPartialResult,
  SetRemoteApiKeyRequest,
  SetSettingsRequest,
  StateNotification,
  StatsNotification,
  type CalibrationResult,
  type CalibrationStatus,
  type CompletionStats,
  type CursorParams,
  type InitializationOptions,
  type InlineSuggestion,
  type LayerMeasurement,
  type Notification,
  type Progress,
  type Request,
  type ServerSettings,
  type ServerState,
} from '../server/protocol.js';
import { RestartPolicy } from './restartPolicy.js';

/** The server's own state, plus the states only the client can see (process starting, process down). */
export type ClientState =
  | ServerState
  | { phase: 'starting' | 'down'; message: string; model: null; settings: null; operatingPoint: null; warning: null };

const NO_CALIBRATION: CalibrationStatus = { state: 'none', progress: null, result: null, message: '' };

export class ServerClient implements vscode.Disposable {
  private readonly client: LanguageClient;
  private readonly policy = new RestartPolicy();
  private readonly stateEmitter = new vscode.EventEmitter<ClientState>();
  private readonly statsEmitter = new vscode.EventEmitter<CompletionStats>();
  private readonly generatingEmitter = new vscode.EventEmitter<boolean>();
  private readonly calibrationEmitter = new vscode.EventEmitter<CalibrationStatus>();
  private nextProgressToken = 0;
  private current: ClientState = { phase: 'starting', message: 'Starting the LayerSkip server', model: null, settings: null, operatingPoint: null, warning: null };
  private calibrationStatus: CalibrationStatus = NO_CALIBRATION;

  readonly onState = this.stateEmitter.event;
  readonly onCalibration = this.calibrationEmitter.event;
  readonly onStats = this.statsEmitter.event;
  readonly onGenerating = this.generatingEmitter.event;

  constructor(
    serverModule: string,
    private readonly output: vscode.LogOutputChannel,
    initializationOptions: () => InitializationOptions,
  ) {
    const run = { module: serverModule, transport: TransportKind.stdio };
    this.client = new LanguageClient(
      'layerskip',
      'LayerSkip',
      { run, debug: run },
      {
        documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
        outputChannel: output,
        initializationOptions,
        errorHandler: {
          error: () => ({ action: ErrorAction.Continue }),
          closed: () => this.serverClosed(),
        },
      },
    );
    this.onNotification(StateNotification, (state) => this.setState(state));
    this.onNotification(StatsNotification, (stats) => this.statsEmitter.fire(stats));
    this.onNotification(GeneratingNotification, (params) => this.generatingEmitter.fire(params.generating));
    this.onNotification(CalibrationNotification, (status) => this.setCalibration(status));
    this.client.onDidChangeState((event) => {
      if (event.newState === State.Starting) {
        this.setState({ phase: 'starting', message: 'Starting the LayerSkip server', model: null, settings: null, operatingPoint: null, warning: null });
        this.setCalibration(NO_CALIBRATION);
      }
    });
  }

  /** A protocol request (server/protocol.ts), typed by its declaration. */
  private request<P, R>(request: Request<P, R>, params: P, token?: vscode.CancellationToken): Promise<R> {
    return this.client.sendRequest<R>(request.method, params, token);
  }

  /** A protocol notification to the server; one that cannot be sent (the server is going away) is dropped. */
  private notify<P>(notification: Notification<P>, params: P): void {
    this.client.sendNotification(notification.method, params).catch(() => undefined);
  }

  private onNotification<P>(notification: Notification<P>, handler: (params: P) => void): void {
    this.client.onNotification(notification.method, handler);
  }

  /** A protocol progress stream's reports for `token`, typed by its declaration; dispose to stop listening. */
  private onProgress<V>(_progress: Progress<V>, token: string, handler: (value: V) => void): vscode.Disposable {
    return this.client.onProgress(new ProgressType<V>(), token, handler);
  }

  get state(): ClientState {
    return this.current;
  }

  get running(): boolean {
    return this.client.state === State.Running;
  }

  async start(): Promise<void> {
    try {
      await this.client.start();
    } catch (error) {
      this.serverDown(`The LayerSkip server could not start: ${messageOf(error)}`);
    }
  }

  /** Manual restart (command or the Restart action): a fresh restart budget. */
  async restart(): Promise<void> {
    this.policy.reset();
    if (this.client.state === State.Running) {
      await this.client.restart();
    } else {
      await this.start();
    }
  }

  /** The cursor came to rest without an edit (cursorRest.ts): the server fills its prompt cache there. */
  cursorAtRest(at: CursorParams): void {
    if (this.running) this.notify(CursorNotification, at);
  }

  /**
   * Asks for a completion; `onPartial` receives the suggestion so far while it streams ($/progress). Null when the
   * server is not running (no request is queued behind a dead or starting server).
   */
  async inlineCompletion(
    params: Omit<InlineCompletionParams, 'partialResultToken'>,
    token: vscode.CancellationToken,
    onPartial: (items: InlineSuggestion[]) => void,
  ): Promise<InlineCompletionList | null> {
    if (!this.running) return null;
    const partialResultToken = `layerskip-${++this.nextProgressToken}`;
    const progress = this.onProgress(InlineCompletionPartialResult, partialResultToken, onPartial);
    try {
      const result = await this.client.sendRequest(InlineCompletionRequest.type, { ...params, partialResultToken }, token);
      return Array.isArray(result) ? { items: result } : (result ?? null);
    } finally {
      progress.dispose();
    }
  }

  async setSettings(settings: Partial<ServerSettings>): Promise<void> {
    if (!this.running) return; // the next start reads the settings through initializationOptions
    await this.request(SetSettingsRequest, settings);
  }

  async setRemoteApiKey(apiKey: string | null): Promise<void> {
    if (!this.running) return; // the next start reads it through initializationOptions
    await this.request(SetRemoteApiKeyRequest, { apiKey });
  }

  get calibration(): CalibrationStatus {
    return this.calibrationStatus;
  }

  /** Calibrates the loaded model now (or joins the calibration running); cancelling `token` cancels it. */
  async calibrate(token?: vscode.CancellationToken): Promise<CalibrationResult> {
    if (!this.running) throw new Error('the LayerSkip server is not running');
    return this.request(CalibrateRequest, null, token);
  }

  async cancelCalibration(): Promise<void> {
    if (this.running) await this.request(CancelCalibrationRequest, null);
  }

  /** Asks the server for its calibration status (after a restart the notifications start from scratch). */
  async refreshCalibration(): Promise<CalibrationStatus> {
    if (this.running) this.setCalibration(await this.request(GetCalibrationRequest, null));
    return this.calibrationStatus;
  }

  async layerMeasurements(): Promise<LayerMeasurement[]> {
    return this.running ? this.request(GetLayerMeasurementsRequest, null) : [];
  }

  uriOf(document: vscode.TextDocument): string {
    return this.client.code2ProtocolConverter.asUri(document.uri);
  }

  rangeOf(range: vscode.Range): { start: { line: number; character: number }; end: { line: number; character: number } } {
    return this.client.code2ProtocolConverter.asRange(range);
  }

  async dispose(): Promise<void> {
    this.stateEmitter.dispose();
    this.statsEmitter.dispose();
    this.generatingEmitter.dispose();
    this.calibrationEmitter.dispose();
    if (this.client.needsStop()) await this.client.stop();
  }

  private serverClosed(): { action: CloseAction; handled: boolean } {
    if (this.policy.allowRestart(Date.now())) {
      this.output.warn('The LayerSkip server stopped; restarting it.');
      return { action: CloseAction.Restart, handled: true };
    }
    const message = `The LayerSkip server stopped ${this.policy.limit} times within ${this.policy.windowMs / 60_000} minutes and was not restarted again. See the LayerSkip output for its log.`;
    this.serverDown(message);
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  private serverDown(message: string): void {
    this.output.error(message);
    this.setState({ phase: 'down', message, model: null, settings: null, operatingPoint: null, warning: null });
    void vscode.window.showErrorMessage(message, 'Restart', 'Show Log').then((choice) => {
      if (choice === 'Restart') return this.restart();
      if (choice === 'Show Log') this.output.show();
      return undefined;
    });
  }

  private setCalibration(status: CalibrationStatus): void {
    this.calibrationStatus = status;
    this.calibrationEmitter.fire(status);
  }

  private setState(state: ClientState): void {
    this.current = state;
    this.stateEmitter.fire(state);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
