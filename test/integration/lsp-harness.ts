// Drives the real server (dist/server.js) over stdio with vscode-languageclient's protocol connection, as any LSP
// client would. Model packages are tiny random checkpoints converted by the real converter (cached per process).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CancellationTokenSource,
  createProtocolConnection,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ProtocolNotificationType,
  ProgressType,
  StreamMessageReader,
  StreamMessageWriter,
  type InlineCompletionItem,
  type InlineCompletionList,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import {
  GeneratingNotification,
  GetStateRequest,
  SetSettingsRequest,
  StateNotification,
  StatsNotification,
  type CompletionStats,
  type GeneratingParams,
  type InitializationOptions,
  type ServerPhase,
  type ServerSettings,
  type ServerState,
} from '../../server/protocol.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { generateCheckpoint, type Family } from '../support/checkpoints.js';

export const repoRoot = resolve(__dirname, '..', '..');
export const serverScript = join(repoRoot, 'dist', 'server.js');

const packages = new Map<string, Promise<string>>();

/** A converted random model package: codellama has FIM tokens, llama3 has none (prefix-only prompts). */
export function tinyModelPackage(family: Family = 'codellama', numLayers = 6): Promise<string> {
  const key = `${family}-${numLayers}`;
  let dir = packages.get(key);
  if (dir === undefined) {
    dir = (async () => {
      const root = mkdtempSync(join(tmpdir(), 'layerskip-lsp-'));
      // Quiet late layers: early exits mostly agree with the full model, so drafts get accepted as on a trained one.
      const checkpoint = generateCheckpoint({ family, numLayers, hiddenSize: 64, dtype: 'F32', seed: 11, quietLayers: { fromLayer: 2, scale: 0.05 } });
      const out = join(root, 'package');
      await convertCheckpoint(checkpoint.dir, out, { dtype: 'fp32' });
      return out;
    })();
    packages.set(key, dir);
  }
  return dir;
}

export interface Position {
  line: number;
  character: number;
}

export class LspSession {
  readonly states: ServerState[] = [];
  readonly stats: CompletionStats[] = [];
  readonly generating: boolean[] = [];
  stderr = '';
  private version = 0;
  private progressCounter = 0;

  private constructor(
    readonly process: ChildProcess,
    readonly connection: ProtocolConnection,
  ) {}

  static async start(settings: Partial<ServerSettings>, clientProvidesInlineCompletion = false): Promise<LspSession> {
    if (!existsSync(serverScript)) throw new Error(`${serverScript} is missing: run npm run build`);
    const child = spawn(process.execPath, [serverScript, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const session = new LspSession(child, connection);
    child.stderr.on('data', (chunk: Buffer) => (session.stderr += chunk.toString()));
    connection.onNotification(new ProtocolNotificationType<ServerState, void>(StateNotification), (state) => void session.states.push(state));
    connection.onNotification(new ProtocolNotificationType<CompletionStats, void>(StatsNotification), (stats) => void session.stats.push(stats));
    connection.onNotification(new ProtocolNotificationType<GeneratingParams, void>(GeneratingNotification), (p) => void session.generating.push(p.generating));
    connection.onNotification('window/logMessage', () => undefined);
    connection.listen();
    const initializationOptions: InitializationOptions = { settings, clientProvidesInlineCompletion };
    const result = await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions });
    session.capabilities = (result as { capabilities: Record<string, unknown> }).capabilities;
    await connection.sendNotification('initialized', {});
    return session;
  }

  capabilities: Record<string, unknown> = {};

  async waitForPhase(phase: ServerPhase, timeoutMs = 60_000): Promise<ServerState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.connection.sendRequest<ServerState>(GetStateRequest);
      if (state.phase === phase) return state;
      if (Date.now() > deadline) throw new Error(`server still '${state.phase}' (${state.message}) after ${timeoutMs} ms, not '${phase}'\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  setSettings(settings: Partial<ServerSettings>): Promise<ServerState> {
    return this.connection.sendRequest<ServerState>(SetSettingsRequest, settings);
  }

  async open(uri: string, text: string, languageId = 'typescript'): Promise<void> {
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: ++this.version, text } });
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
    options: { cancel?: CancellationTokenSource; onPartial?: (items: InlineCompletionItem[]) => void } = {},
  ): Promise<InlineCompletionList> {
    const partialResultToken = options.onPartial ? `partial-${++this.progressCounter}` : undefined;
    const progress = partialResultToken && options.onPartial
      ? this.connection.onProgress(new ProgressType<InlineCompletionItem[]>(), partialResultToken, options.onPartial)
      : undefined;
    try {
      const result = await this.connection.sendRequest(
        InlineCompletionRequest.type,
        { textDocument: { uri }, position, context: { triggerKind: InlineCompletionTriggerKind.Invoked }, partialResultToken },
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
