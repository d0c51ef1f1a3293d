// From an LSP document and cursor to a CompletionRequest: which documents get no completions (huge or binary: said
// once in the log), where the user works in each open document (the line of their last request), and the cross-file
// snippets built from that. The LSP handler only translates; what a request holds is decided here.
import type { Position, TextDocuments } from 'vscode-languageserver';
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

  /** The request at `position`, or null when the document gets no completions. */
  at(document: TextDocument, position: Position, settings: ServerSettings): CompletionRequest | null {
    const text = document.getText();
    const refusal = refusalReason(text);
    if (refusal !== null) {
      if (!this.refused.has(document.uri)) this.log(`No completions for ${document.uri}: ${refusal}`);
      this.refused.add(document.uri);
      return null;
    }
    this.focus.set(document.uri, { line: position.line, used: ++this.requestCount });
    return {
      uri: document.uri,
      languageId: document.languageId,
      text,
      offset: document.offsetAt(position),
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
