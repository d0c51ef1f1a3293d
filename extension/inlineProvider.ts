// Inline completions in the editor: cache first (typing-as-suggested), then an adaptive debounce, then a streamed
// request to the server. The ghost text appears with the first complete line and grows as the server streams:
// each growth re-triggers VS Code's inline suggest, which this provider answers from the cache (no new request,
// and the shown text only ever extends, so nothing flickers).
import * as vscode from 'vscode';
import type { InlineCompletionItem as LspItem } from 'vscode-languageclient/node';
import { AdaptiveDebouncer, sleepUnlessCancelled } from './debouncer.js';
import type { ServerClient } from './serverClient.js';
import { completionsEnabled } from './settings.js';
import { SuggestionCache, type CursorView } from './suggestionCache.js';

export const ACCEPTED_COMMAND = 'layerskip.suggestionAccepted';
const TRIGGER_INLINE_SUGGEST = 'editor.action.inlineSuggest.trigger';

export class InlineProvider implements vscode.InlineCompletionItemProvider {
  private readonly debouncer = new AdaptiveDebouncer();
  private readonly cache = new SuggestionCache();
  /** Set after an acceptance: the next suggestion is asked for at once (look-ahead), not after the debounce. */
  private skipNextDebounce = false;

  constructor(
    private readonly server: ServerClient,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    // (With the suggest widget open VS Code shows only items that extend the selected entry; no special case here.)
    if (!completionsEnabled(document.languageId)) return undefined;
    const at = cursorView(document, position);
    const cached = this.cache.lookup(at);
    if (cached !== null) return [this.item(cached, position)];

    const manual = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    const delay = this.debouncer.keystroke(Date.now());
    if (!manual && !this.skipNextDebounce) {
      if (!(await sleepUnlessCancelled(delay, (listener) => token.onCancellationRequested(listener)))) return undefined;
    }
    this.skipNextDebounce = false;
    this.log.trace(`inline completion requested at ${document.uri.toString()}:${position.line + 1}:${position.character + 1}`);
    return this.request(document, position, at, context.triggerKind, token);
  }

  /** Called by the accepted item's command: look ahead for the next suggestion without waiting. */
  accepted(): void {
    this.skipNextDebounce = true;
    void vscode.commands.executeCommand(TRIGGER_INLINE_SUGGEST);
  }

  clearCache(): void {
    this.cache.clear();
  }

  /** Resolves with the first streamed line (or the final result if nothing streamed); later growth re-triggers. */
  private request(
    document: vscode.TextDocument,
    position: vscode.Position,
    at: CursorView,
    triggerKind: vscode.InlineCompletionTriggerKind,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const version = document.version;
    return new Promise((resolve) => {
      let shown: string | null = null;
      const show = (text: string): void => {
        if (text === '' || text === shown || token.isCancellationRequested) return;
        this.cache.store(at, text);
        if (shown === null) resolve([this.item(text, position)]);
        else if (this.cursorStillAt(document, version, position)) void vscode.commands.executeCommand(TRIGGER_INLINE_SUGGEST);
        shown = text;
      };
      const params = {
        textDocument: { uri: this.server.uriOf(document) },
        position: { line: position.line, character: position.character },
        context: { triggerKind: triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? 1 : 2 },
      } as const;
      this.server
        .inlineCompletion(params, token, (items) => show(insertTextOf(items)))
        .then((list) => {
          this.log.trace(`inline completion result ${JSON.stringify(insertTextOf(list?.items ?? []))}`);
          show(insertTextOf(list?.items ?? []));
          if (shown === null) resolve(undefined);
        })
        .catch((error: unknown) => {
          if (!token.isCancellationRequested) this.log.warn(`inline completion failed: ${error instanceof Error ? error.message : String(error)}`);
          if (shown === null) resolve(undefined);
        });
    });
  }

  private cursorStillAt(document: vscode.TextDocument, version: number, position: vscode.Position): boolean {
    const editor = vscode.window.activeTextEditor;
    return editor?.document === document && document.version === version && editor.selection.active.isEqual(position);
  }

  private item(text: string, position: vscode.Position): vscode.InlineCompletionItem {
    return new vscode.InlineCompletionItem(text, new vscode.Range(position, position), { command: ACCEPTED_COMMAND, title: 'Accepted' });
  }
}

function insertTextOf(items: LspItem[]): string {
  const first = items[0]?.insertText;
  return typeof first === 'string' ? first : (first?.value ?? '');
}

function cursorView(document: vscode.TextDocument, position: vscode.Position): CursorView {
  const offset = document.offsetAt(position);
  // Only the neighbourhood of the cursor is compared (suggestionCache.ts); no need to copy a whole large document.
  const window = 1000;
  const start = document.positionAt(Math.max(0, offset - window));
  const end = document.positionAt(offset + window);
  return {
    uri: document.uri.toString(),
    offset,
    before: document.getText(new vscode.Range(start, position)),
    after: document.getText(new vscode.Range(position, end)),
  };
}
