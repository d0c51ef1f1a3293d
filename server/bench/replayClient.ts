// An LSP client session with the real server process (dist/server.js over stdio), built on vscode-languageclient's
// protocol connection: what the replay/storm benchmarks and the integration tests drive the server with.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import {
  CancellationTokenSource,
  createProtocolConnection,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ProgressType,
  StreamMessageReader,
  StreamMessageWriter,
  type InlineCompletionItem,
  type InlineCompletionList,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import {
  CalibrationNotification,
  CursorNotification,
  GeneratingNotification,
  GetStateRequest,
  SetSettingsRequest,
  StateNotification,
  StatsNotification,
  type CalibrationStatus,
  type CompletionStats,
  type InitializationOptions,
  type Notification,
  type Request,
  type ServerPhase,
  type ServerSettings,
  type ServerState,
} from '../protocol.js';

/**
 * One fixed decoding for the replay and storm benchmarks and the LSP tests, comparable run to run: the
 * self-speculative mode they exercise, and no calibration running behind the keystrokes (calibration's own tests
 * turn it on).
 */
export const FIXED_DECODING: Partial<ServerSettings> = { mode: 'self-speculative', autoCalibrate: false };

export interface Position {
  line: number;
  character: number;
}

export class LspSession {
  readonly states: ServerState[] = [];
  readonly stats: CompletionStats[] = [];
  readonly generating: boolean[] = [];
  readonly calibrations: CalibrationStatus[] = [];
  stderr = '';
  private version = 0;
  private progressCounter = 0;

  private constructor(
    readonly process: ChildProcess,
    readonly connection: ProtocolConnection,
  ) {}

  static async start(
    serverScript: string,
    settings: Partial<ServerSettings>,
    clientProvidesInlineCompletion = false,
    storagePath?: string,
    remoteApiKey?: string,
  ): Promise<LspSession> {
    if (!existsSync(serverScript)) throw new Error(`${serverScript} is missing: run npm run build`);
    const child = spawn(process.execPath, [serverScript, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const session = new LspSession(child, connection);
    child.stderr.on('data', (chunk: Buffer) => (session.stderr += chunk.toString()));
    const on = <P>(notification: Notification<P>, handler: (params: P) => void): void => void connection.onNotification(notification.method, handler);
    on(StateNotification, (state) => void session.states.push(state));
    on(StatsNotification, (stats) => void session.stats.push(stats));
    on(GeneratingNotification, (p) => void session.generating.push(p.generating));
    on(CalibrationNotification, (status) => void session.calibrations.push(status));
    connection.onNotification('window/logMessage', () => undefined);
    connection.listen();
    const initializationOptions: InitializationOptions = { settings, clientProvidesInlineCompletion, storagePath, remoteApiKey };
    const result = await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions });
    session.capabilities = (result as { capabilities: Record<string, unknown> }).capabilities;
    await connection.sendNotification('initialized', {});
    return session;
  }

  capabilities: Record<string, unknown> = {};

  async waitForPhase(phase: ServerPhase, timeoutMs = 60_000): Promise<ServerState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.request(GetStateRequest, null);
      if (state.phase === phase) return state;
      if (Date.now() > deadline) throw new Error(`server still '${state.phase}' (${state.message}) after ${timeoutMs} ms, not '${phase}'\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A protocol request (server/protocol.ts), typed by its declaration. */
  request<P, R>(request: Request<P, R>, params: P): Promise<R> {
    return this.connection.sendRequest<R>(request.method, params);
  }

  setSettings(settings: Partial<ServerSettings>): Promise<ServerState> {
    return this.request(SetSettingsRequest, settings);
  }

  async open(uri: string, text: string, languageId = 'typescript'): Promise<void> {
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: ++this.version, text } });
  }

  /** The cursor came to rest at `position` without typing (the extension's layerskip/cursor). */
  async cursor(uri: string, position: Position): Promise<void> {
    await this.connection.sendNotification(CursorNotification.method, { uri, position });
  }

  /** Replaces the whole text (a full-document change event is valid under incremental sync too). */
  async change(uri: string, text: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++this.version }, contentChanges: [{ text }] });
  }

  async insert(uri: string, at: Position, text: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: ++this.version },
      contentChanges: [{ range: { start: at, end: at }, text }],
    });
  }

  async complete(
    uri: string,
    position: Position,
    options: {
      cancel?: CancellationTokenSource;
      onPartial?: (items: InlineCompletionItem[]) => void;
      automatic?: boolean;
      /** The editor's completion list is open on this entry (LSP 3.18 selectedCompletionInfo). */
      selected?: { range: { start: Position; end: Position }; text: string };
    } = {},
  ): Promise<InlineCompletionList> {
    const partialResultToken = options.onPartial ? `partial-${++this.progressCounter}` : undefined;
    const progress = partialResultToken && options.onPartial
      ? this.connection.onProgress(new ProgressType<InlineCompletionItem[]>(), partialResultToken, options.onPartial)
      : undefined;
    try {
      const result = await this.connection.sendRequest(
        InlineCompletionRequest.type,
        {
          textDocument: { uri },
          position,
          context: {
            triggerKind: options.automatic ? InlineCompletionTriggerKind.Automatic : InlineCompletionTriggerKind.Invoked,
            selectedCompletionInfo: options.selected,
          },
          partialResultToken,
        },
        options.cancel?.token,
      );
      if (result === null || result === undefined) return { items: [] };
      return Array.isArray(result) ? { items: result } : result;
    } finally {
      progress?.dispose();
    }
  }

  /** Ends the server the polite way (shutdown + exit); returns its exit code. */
  async close(): Promise<number | null> {
    const exited = new Promise<number | null>((r) => this.process.once('exit', (code) => r(code)));
    if (this.process.exitCode === null && this.process.signalCode === null) {
      await this.connection.sendRequest('shutdown').catch(() => undefined);
      await this.connection.sendNotification('exit').catch(() => undefined);
    } else {
      return this.process.exitCode;
    }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    this.connection.dispose();
    return code;
  }

  kill(): Promise<void> {
    return new Promise((r) => {
      this.process.once('exit', () => r());
      this.process.kill('SIGKILL');
      this.connection.dispose();
    });
  }
}

export function textOf(list: InlineCompletionList): string {
  const first = list.items[0]?.insertText;
  return typeof first === 'string' ? first : (first?.value ?? '');
}

/** The p-th percentile (0..100) of `values`: the value at rank floor(p% of n) of the sorted values; null when empty. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU seconds (user + system) and resident memory of a process, from /proc (Linux); null elsewhere. */
export function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ, 100 on every Linux architecture Node supports
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    const rssLine = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((line) => line.startsWith('VmRSS:'));
    const rssBytes = Number(/(\d+)/.exec(rssLine ?? '')?.[1] ?? 0) * 1024;
    return { cpuSeconds, rssBytes };
  } catch {
    return null;
  }
}
