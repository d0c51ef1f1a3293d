// Extension shell: starts the server client, the inline completion provider, the status bar and the commands, and
// disposes all of them. Settings changes are sent to the running server (no reload).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CompletionStats } from '../server/protocol.js';
import { CalibrationPanel } from './calibrationPanel.js';
import { registerCommands } from './commands.js';
import { registerHubCommands } from './hub/register.js';
import { RemoteApiKey } from './remoteApiKey.js';
import { CursorRest, type CursorAt } from './cursorRest.js';
import { ACCEPTED_COMMAND, InlineProvider } from './inlineProvider.js';
import { ServerClient, type ClientState } from './serverClient.js';
import { affectsServer, completionsEnabled, isEnabled, SECTION, serverSettings } from './settings.js';
import { StatusBar } from './statusBar.js';

let server: ServerClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('LayerSkip', { log: true });
  const statusBar = new StatusBar();
  // read before the server starts: its initialization options carry the key
  const remoteApiKey = await RemoteApiKey.load(context.secrets, async (key) => server?.setRemoteApiKey(key), (message) => output.warn(message));
  server = new ServerClient(context.asAbsolutePath(path.join('dist', 'server.js')), output, () => ({
    settings: serverSettings(),
    clientProvidesInlineCompletion: true,
    storagePath: context.globalStorageUri.fsPath,
    ...(remoteApiKey.current === null ? {} : { remoteApiKey: remoteApiKey.current }),
  }));
  const client = server;
  const provider = new InlineProvider(client, output);
  const calibrationPanel = new CalibrationPanel(client, (message) => output.error(message));
  // where the cursor comes to rest without typing, the server prefills a completion's prompt meanwhile
  const cursorRest = new CursorRest((at) => client.cursorAtRest({ uri: at.uri, position: { line: at.line, character: at.character } }));
  const cursorAt = (editor: vscode.TextEditor | undefined): CursorAt | null => {
    if (editor === undefined || editor.selections.length !== 1 || !editor.selection.isEmpty) return null;
    const { document, selection } = editor;
    if (!['file', 'untitled'].includes(document.uri.scheme) || !completionsEnabled(document.languageId)) return null;
    return { uri: client.uriOf(document), version: document.version, line: selection.active.line, character: selection.active.character };
  };
  const cursorMoved = (editor: vscode.TextEditor | undefined): void => {
    const at = cursorAt(editor);
    if (at !== null) cursorRest.moved(at, () => cursorAt(vscode.window.activeTextEditor));
  };
  let lastStats: CompletionStats | null = null;
  let lastPhase: ClientState['phase'] | null = null;

  statusBar.setEnabled(isEnabled());
  context.subscriptions.push(
    output,
    statusBar,
    client,
    client.onState((state) => {
      statusBar.setState(state);
      if (state.phase === 'error') output.error(state.message);
      else output.info(`server ${state.phase}: ${state.message}`);
      // Say once why suggestions stopped (the top complaint: completions that silently never show up).
      if (state.phase === 'error' && lastPhase !== 'error') {
        // a remote server's failure is fixed by its key or URL, a local one's by the model folder
        const [fix, command] = state.settings?.remoteUrl ? ['Set Remote API Key', 'layerskip.setRemoteApiKey'] : ['Select Model Folder', 'layerskip.selectModelFolder'];
        void vscode.window.showWarningMessage(`LayerSkip: ${state.message}`, fix, 'Show Log').then((choice) => {
          if (choice === fix) return vscode.commands.executeCommand(command);
          if (choice === 'Show Log') output.show();
          return undefined;
        });
      }
      lastPhase = state.phase;
    }),
    client.onStats((stats) => {
      lastStats = stats;
      statusBar.setStats(stats);
    }),
    client.onGenerating((generating) => statusBar.setGenerating(generating)),
    calibrationPanel,
    client.onCalibration((status) => statusBar.setCalibration(status)),
    vscode.languages.registerInlineCompletionItemProvider([{ scheme: 'file' }, { scheme: 'untitled' }], provider),
    cursorRest,
    vscode.window.onDidChangeTextEditorSelection((event) => cursorMoved(event.textEditor)),
    vscode.window.onDidChangeActiveTextEditor(cursorMoved),
    vscode.workspace.onDidCloseTextDocument((document) => cursorRest.forget(client.uriOf(document))),
    vscode.commands.registerCommand(ACCEPTED_COMMAND, () => provider.accepted()),
    ...registerCommands({ server: client, output, lastStats: () => lastStats, calibrationPanel, remoteApiKey }),
    remoteApiKey,
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(`${SECTION}.enable`)) statusBar.setEnabled(isEnabled());
      if (!affectsServer(event)) return;
      provider.clearCache();
      client.setSettings(serverSettings()).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        output.error(`settings rejected by the server: ${message}`);
        void vscode.window.showErrorMessage(`LayerSkip: ${message}`);
      });
    }),
  );
  registerHubCommands(context, output);
  statusBar.setState(client.state);
  await client.start();
}

export async function deactivate(): Promise<void> {
  await server?.dispose();
  server = undefined;
}
