// Typing-as-suggested: when the user types exactly what the ghost text predicted, the rest is shown at once from
// here, without a new request. An entry remembers where a suggestion started (document, offset, the text just
// before and after it) and the suggestion; a later cursor position matches if the text typed since equals the
// suggestion's beginning and the text after the cursor is unchanged.

/** Characters of context compared on each side to decide that an entry is about the same place. */
const CONTEXT_CHARS = 200;
const CAPACITY = 50;

export interface CursorView {
  uri: string;
  /** Offset of the cursor in the document. */
  offset: number;
  /** Document text before / after the cursor (only the ends near the cursor are read). */
  before: string;
  after: string;
}

interface Entry {
  uri: string;
  offset: number;
  contextBefore: string;
  contextAfter: string;
  suggestion: string;
}

export class SuggestionCache {
  /** Most recently used last. */
  private entries: Entry[] = [];

  /** Stores (or grows, when streaming) the suggestion computed at `at`. */
  store(at: CursorView, suggestion: string): void {
    const entry: Entry = {
      uri: at.uri,
      offset: at.offset,
      contextBefore: at.before.slice(-CONTEXT_CHARS),
      contextAfter: at.after.slice(0, CONTEXT_CHARS),
      suggestion,
    };
    this.entries = this.entries.filter((e) => !(e.uri === entry.uri && e.offset === entry.offset && e.contextBefore === entry.contextBefore));
    this.entries.push(entry);
    if (this.entries.length > CAPACITY) this.entries.shift();
  }

  /** The rest of a cached suggestion that the text typed since predicts, or null. */
  lookup(at: CursorView): string | null {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      const rest = remainingSuggestion(entry, at);
      if (rest !== null) {
        this.entries.splice(i, 1);
        this.entries.push(entry);
        return rest;
      }
    }
    return null;
  }

  clear(uri?: string): void {
    this.entries = uri === undefined ? [] : this.entries.filter((e) => e.uri !== uri);
  }
}

function remainingSuggestion(entry: Entry, at: CursorView): string | null {
  if (entry.uri !== at.uri) return null;
  const typedLength = at.offset - entry.offset;
  if (typedLength < 0 || typedLength >= entry.suggestion.length) return null;
  const typed = at.before.slice(at.before.length - typedLength);
  if (!entry.suggestion.startsWith(typed)) return null;
  const beforeStart = at.before.slice(0, at.before.length - typedLength);
  if (!beforeStart.endsWith(entry.contextBefore)) return null;
  if (at.after.slice(0, CONTEXT_CHARS) !== entry.contextAfter.slice(0, CONTEXT_CHARS)) return null;
  return entry.suggestion.slice(typedLength);
}
