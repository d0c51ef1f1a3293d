// From an LSP document and cursor to a CompletionRequest: which documents get no completions (huge or binary: said
// once in the log), where the user works in each open document (the line of their last request), and the cross-file
// snippets built from that. The LSP handler only translates; what a request holds is decided here.
//
// With the editor's completion list open on an entry (LSP 3.18 selectedCompletionInfo), the suggestion must extend
// that entry: the request is the document as if the entry were accepted, its text replacing its range and the cursor
// after it (what Copilot does too).
import type { Position, SelectedCompletionInfo, TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { ServerSettings } from '../protocol.js';
import type { CompletionRequest } from './completionService.js';
import { crossFileContext, type OpenDocument } from './crossFileContext.js';
import { completionRules } from './rules.js';

export class CompletionRequests {
  /** Where the user last asked for a completion in each document (feeds cross-file context). */
  private readonly focus = new Map<string, { line: number; used: number }>();
  private requestCount = 0;
  private readonly refused = new Set<string>();

  constructor(
    private readonly documents: TextDocuments<TextDocument>,
    private readonly log: (message: string) => void,
  ) {}

  /** The request at `position` (with `selected` accepted), or null when the document gets no completions. */
  at(document: TextDocument, position: Position, settings: ServerSettings, selected?: SelectedCompletionInfo): CompletionRequest | null {
    const current = document.getText();
    const refusal = refusalReason(current);
    if (refusal !== null) {
      if (!this.refused.has(document.uri)) this.log(`No completions for ${document.uri}: ${refusal}`);
      this.refused.add(document.uri);
      return null;
    }
    this.focus.set(document.uri, { line: position.line, used: ++this.requestCount });
    const [start, end] = selected ? [document.offsetAt(selected.range.start), document.offsetAt(selected.range.end)] : [document.offsetAt(position), document.offsetAt(position)];
    const accepted = selected?.text ?? '';
    return {
      uri: document.uri,
      languageId: document.languageId,
      text: current.slice(0, start) + accepted + current.slice(end),
      offset: start + accepted.length,
      context: settings.crossFileContext ? this.crossFileContext(document, settings.prefixTokens) : '',
    };
  }

  /** Drops what is kept about a closed document. */
  forget(uri: string): void {
    this.focus.delete(uri);
    this.refused.delete(uri);
  }

  private crossFileContext(current: TextDocument, prefixTokens: number): string {
    const open: OpenDocument[] = this.documents.all().map((doc) => ({
      uri: doc.uri,
      languageId: doc.languageId,
      text: doc.getText(),
      focusLine: this.focus.get(doc.uri)?.line ?? 0,
      lastUsed: this.focus.get(doc.uri)?.used ?? 0,
    }));
    const maxChars = prefixTokens * completionRules.crossFileShare * completionRules.charsPerTokenGuess;
    return crossFileContext(current, open, maxChars);
  }
}

/** Why a document gets no completions (too large, binary), or null. */
export function refusalReason(text: string): string | null {
  if (text.length > completionRules.maxDocumentCharacters) {
    return `the document has ${text.length} characters (more than ${completionRules.maxDocumentCharacters})`;
  }
  if (text.includes('\u0000')) return 'the document looks binary (it holds NUL characters)';
  return null;
}
