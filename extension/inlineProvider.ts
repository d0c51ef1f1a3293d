// Inline completions in the editor: VS Code's side of completionFlow.ts (cache first, then an adaptive debounce, then
// a streamed request to the server). The ghost text appears with the first complete line and grows as the server
// streams: each growth re-triggers VS Code's inline suggest, which the flow answers from the cache (no new request,
// and the shown text only ever extends, so nothing flickers).
import * as vscode from 'vscode';
import type { InlineCompletionItem as LspItem } from 'vscode-languageclient/node';
import { CompletionFlow } from './completionFlow.js';
import type { ServerClient } from './serverClient.js';
import { completionsEnabled } from './settings.js';
import type { CursorView } from './suggestionCache.js';

export const ACCEPTED_COMMAND = 'layerskip.suggestionAccepted';
const TRIGGER_INLINE_SUGGEST = 'editor.action.inlineSuggest.trigger';

export class InlineProvider implements vscode.InlineCompletionItemProvider {
  private readonly flow = new CompletionFlow();

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
    const explicit = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    const version = document.version;
    const params = {
      textDocument: { uri: this.server.uriOf(document) },
      position: { line: position.line, character: position.character },
      context: { triggerKind: explicit ? 1 : 2 },
    } as const;
    const request = (onPartial: (text: string) => void): Promise<string> => {
      this.log.trace(`inline completion requested at ${document.uri.toString()}:${position.line + 1}:${position.character + 1}`);
      return this.server.inlineCompletion(params, token, (items) => onPartial(insertTextOf(items))).then((list) => {
        this.log.trace(`inline completion result ${JSON.stringify(insertTextOf(list?.items ?? []))}`);
        return insertTextOf(list?.items ?? []);
      });
    };
    const editor = {
      reshow: () => void vscode.commands.executeCommand(TRIGGER_INLINE_SUGGEST),
      cursorStillThere: () => {
        const active = vscode.window.activeTextEditor;
        return active?.document === document && document.version === version && active.selection.active.isEqual(position);
      },
      warn: (message: string) => this.log.warn(message),
    };
    const text = await this.flow.provide(cursorView(document, position), explicit, token, request, editor);
    return text === null ? undefined : [new vscode.InlineCompletionItem(text, new vscode.Range(position, position), { command: ACCEPTED_COMMAND, title: 'Accepted' })];
  }

  /** Called by the accepted item's command: look ahead for the next suggestion without waiting. */
  accepted(): void {
    this.flow.accepted();
    void vscode.commands.executeCommand(TRIGGER_INLINE_SUGGEST);
  }

  clearCache(): void {
    this.flow.clearCache();
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
