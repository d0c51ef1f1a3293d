// One request's view of a streamed generation: accumulates the text that follows its cursor, tells when the
// suggestion is complete (generation can stop) and reports the processed suggestion once its first line is complete,
// then as it grows.
import type { CursorContext } from './cursorContext.js';
import { postprocess } from './postprocess/index.js';
import { completionRules } from './rules.js';
import { suggestionComplete } from './stopRules.js';

export class PartialReporter {
  text = '';
  private complete = false;
  /** ms from the request's receipt to its first character of text / first reported line; null until then. */
  firstTextMs: number | null = null;
  firstLineMs: number | null = null;
  private lastReport = 0;
  private lastReported = '';

  constructor(
    readonly context: CursorContext,
    private readonly onPartial: (text: string) => void,
    private readonly received: number,
  ) {}

  /** Returns true when the suggestion is complete and generation can stop. */
  push(delta: string): boolean {
    if (delta === '') return this.complete;
    this.firstTextMs ??= performance.now() - this.received;
    this.text += delta;
    this.complete = suggestionComplete(this.text, this.context);
    if (this.text.includes('\n') && !this.complete) this.report();
    return this.complete;
  }

  private report(): void {
    const now = performance.now();
    if (this.lastReported !== '' && now - this.lastReport < completionRules.partialResultIntervalMs) return;
    const processed = postprocess(this.text, this.context);
    if (processed === '' || processed === this.lastReported) return;
    this.firstLineMs ??= now - this.received;
    this.lastReport = now;
    this.lastReported = processed;
    this.onPartial(processed);
  }
}
