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
    if (!completionsEnabled(document.languageId)) return undefined;
    const explicit = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    const version = document.version;
    // With the suggest widget open on an entry, VS Code shows only items that extend that entry and replace its range:
    // the server completes the document as if the entry were accepted, and so does the cache's view of it.
    const selected = context.selectedCompletionInfo;
    const lead = selected?.text ?? '';
    const params = {
      textDocument: { uri: this.server.uriOf(document) },
      position: { line: position.line, character: position.character },
      context: { triggerKind: explicit ? 1 : 2, selectedCompletionInfo: selected && { range: this.server.rangeOf(selected.range), text: selected.text } },
    } as const;
    // what follows the entry (an item that does not extend it is of no use)
    const afterLead = (items: LspItem[]): string => {
      const text = insertTextOf(items);
      return text.startsWith(lead) ? text.slice(lead.length) : '';
    };
    const request = (onPartial: (text: string) => void): Promise<string> => {
      this.log.trace(`inline completion requested at ${document.uri.toString()}:${position.line + 1}:${position.character + 1}${selected ? ` after the entry ${JSON.stringify(lead)}` : ''}`);
      return this.server.inlineCompletion(params, token, (items) => onPartial(afterLead(items))).then((list) => {
        this.log.trace(`inline completion result ${JSON.stringify(insertTextOf(list?.items ?? []))}`);
        return afterLead(list?.items ?? []);
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
    const view = selected ? cursorView(document, selected.range.start, selected.range.end, lead) : cursorView(document, position, position, '');
    const text = await this.flow.provide(view, explicit, token, request, editor);
    const range = selected?.range ?? new vscode.Range(position, position);
    return text === null ? undefined : [new vscode.InlineCompletionItem(lead + text, range, { command: ACCEPTED_COMMAND, title: 'Accepted' })];
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

/** The document around the cursor, with `[from, to)` replaced by `inserted` and the cursor after it. */
function cursorView(document: vscode.TextDocument, from: vscode.Position, to: vscode.Position, inserted: string): CursorView {
  const offset = document.offsetAt(from);
  // Only the neighbourhood of the cursor is compared (suggestionCache.ts); no need to copy a whole large document.
  const window = 1000;
  const start = document.positionAt(Math.max(0, offset - window));
  const end = document.positionAt(document.offsetAt(to) + window);
  return {
    uri: document.uri.toString(),
    offset: offset + inserted.length,
    before: document.getText(new vscode.Range(start, from)) + inserted,
    after: document.getText(new vscode.Range(to, end)),
  };
}
