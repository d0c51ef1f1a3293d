// The user's code for calibration: the open documents, most recently edited first (edits count over opening), minus
// those completion refuses (huge or binary).
import type { TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { SampleText } from '../calibration/codeSample.js';
import { refusalReason } from './completionRequests.js';

export class RecentDocuments {
  private readonly touched = new Map<string, number>();
  private clock = 0;

  constructor(private readonly documents: TextDocuments<TextDocument>) {
    documents.onDidOpen((event) => this.touched.set(event.document.uri, ++this.clock));
    documents.onDidChangeContent((event) => this.touched.set(event.document.uri, ++this.clock));
    documents.onDidClose((event) => this.touched.delete(event.document.uri));
  }

  texts(): SampleText[] {
    return this.documents
      .all()
      .filter((doc) => refusalReason(doc.getText()) === null)
      .sort((a, b) => (this.touched.get(b.uri) ?? 0) - (this.touched.get(a.uri) ?? 0))
      .map((doc) => ({ name: doc.uri, text: doc.getText() }));
  }
}
