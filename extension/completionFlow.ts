// What the inline completion provider decides, without the vscode API (so it is unit-tested): the typing-as-suggested
// cache first, then the adaptive debounce (skipped for an explicit request and right after an acceptance), then a
// streamed request whose first text answers the editor; each later growth is cached and re-shown only while the
// cursor is still where the request was made. inlineProvider.ts adapts it to VS Code.
import { AdaptiveDebouncer, sleepUnlessCancelled } from './debouncer.js';
import { SuggestionCache, type CursorView } from './suggestionCache.js';

/** The part of a cancellation token the flow uses (vscode.CancellationToken has it). */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/**
 * Sends the request (cancelled with the token `provide` was given); `onPartial` gets the suggestion so far while it
 * streams; resolves with the final text ('' for none).
 */
export type StreamRequest = (onPartial: (text: string) => void) => Promise<string>;

export interface EditorSide {
  /** Asks the editor to show the grown suggestion (it then asks again and is answered from the cache). */
  reshow(): void;
  /** The cursor and the document are still as when the request was made. */
  cursorStillThere(): boolean;
  warn(message: string): void;
}

export class CompletionFlow {
  private readonly debouncer = new AdaptiveDebouncer();
  private readonly cache = new SuggestionCache();
  /** Set after an acceptance: the next suggestion is asked for at once (look-ahead), not after the debounce. */
  private skipNextDebounce = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** The suggestion to show at `at`, or null for none. */
  async provide(at: CursorView, explicit: boolean, token: Cancellation, request: StreamRequest, editor: EditorSide): Promise<string | null> {
    const cached = this.cache.lookup(at);
    if (cached !== null) return cached;
    const delay = this.debouncer.keystroke(this.now());
    if (!explicit && !this.skipNextDebounce) {
      if (!(await sleepUnlessCancelled(delay, (listener) => token.onCancellationRequested(listener)))) return null;
    }
    this.skipNextDebounce = false;
    return this.stream(at, token, request, editor);
  }

  accepted(): void {
    this.skipNextDebounce = true;
  }

  clearCache(): void {
    this.cache.clear();
  }

  /** Resolves with the first streamed text (or the final one if nothing streamed); later growth re-shows. */
  private stream(at: CursorView, token: Cancellation, request: StreamRequest, editor: EditorSide): Promise<string | null> {
    return new Promise((resolve) => {
      let shown: string | null = null;
      const show = (text: string): void => {
        if (text === '' || text === shown || token.isCancellationRequested) return;
        this.cache.store(at, text);
        if (shown === null) resolve(text);
        else if (editor.cursorStillThere()) editor.reshow();
        shown = text;
      };
      request(show)
        .then((text) => {
          show(text);
          if (shown === null) resolve(null);
        })
        .catch((error: unknown) => {
          if (!token.isCancellationRequested) editor.warn(`inline completion failed: ${error instanceof Error ? error.message : String(error)}`);
          if (shown === null) resolve(null);
        });
    });
  }
}
