// Which cursor moves are worth a prompt-cache warm-up on the server (layerskip/cursor): those that come to rest
// without an edit (a click, arrow keys, a jump to a definition, another file). Typing and accepting a suggestion edit
// the document: their own requests keep the cache warm, and a warm-up would only abort the look-ahead prepared for
// them. Free of the vscode API (unit-tested); extension.ts feeds it the editor's events.

/** Where a cursor is: the document (the server's URI for it, its version) and the position. */
export interface CursorAt {
  uri: string;
  version: number;
  line: number;
  character: number;
}

/**
 * How long the cursor must stay put before the server is told. A warm-up costs a prefill of the prompt's changed tail
 * (up to the suffix budget, ~0.5 s of CPU on the bundled model): stepping through code line by line is not worth one
 * a line; stopping to read is.
 */
export const CURSOR_REST_MS = 750;

export class CursorRest {
  /** Each document's version at its last cursor move: a move in a newer version came with an edit. */
  private readonly versions = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: (at: CursorAt) => void,
    private readonly restMs = CURSOR_REST_MS,
  ) {}

  /** The cursor moved to `at` (or an editor with its cursor there became active); `current` reads it again later. */
  moved(at: CursorAt, current: () => CursorAt | null): void {
    const seen = this.versions.get(at.uri);
    this.versions.set(at.uri, at.version);
    this.cancel();
    if (seen !== undefined && seen !== at.version) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = current();
      if (now !== null && now.uri === at.uri && now.version === at.version && now.line === at.line && now.character === at.character) this.send(at);
    }, this.restMs);
  }

  /** A closed document is forgotten. */
  forget(uri: string): void {
    this.versions.delete(uri);
  }

  dispose(): void {
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
