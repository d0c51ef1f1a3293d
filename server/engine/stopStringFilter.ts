/**
 * Stop strings over a growing text: text is released as soon as it is final, i.e. not the start of a possible stop
 * string and not an incomplete UTF-8 sequence (decoders render those as U+FFFD), and cut before the first stop string.
 * The engine feeds it decoded tokens (textStream.ts); the remote backend feeds it the server's streamed text.
 */
export class StopStringFilter {
  private released = 0; // characters of `text` already handed out
  private text = '';
  private stopped = false;
  /** The stop string that ended the text, once one has. */
  stoppedBy: string | null = null;

  constructor(private readonly stopStrings: readonly string[]) {}

  /** The text so far (it only grows); returns the newly final text and whether a stop string was reached. */
  update(text: string): { delta: string; stopped: boolean } {
    if (this.stopped) return { delta: '', stopped: true };
    this.text = text;
    const stopAt = this.firstStopString();
    if (stopAt !== -1) {
      this.stoppedBy = this.stopStrings.find((stop) => this.text.startsWith(stop, stopAt)) ?? null;
      this.text = this.text.slice(0, stopAt);
      this.stopped = true;
      return { delta: this.release(this.text.length), stopped: true };
    }
    return { delta: this.release(this.safeEnd()), stopped: false };
  }

  /** Everything not yet released (the generation ended; nothing can complete a stop string any more). */
  flush(): string {
    return this.release(this.text.length);
  }

  /** The text so far, cut before a stop string. */
  get fullText(): string {
    return this.text;
  }

  private release(end: number): string {
    if (end <= this.released) return '';
    const delta = this.text.slice(this.released, end);
    this.released = end;
    return delta;
  }

  private firstStopString(): number {
    let first = -1;
    for (const stop of this.stopStrings) {
      // A stop string can only be new where it overlaps text not yet released.
      const at = this.text.indexOf(stop, Math.max(0, this.released - stop.length + 1));
      if (at !== -1 && (first === -1 || at < first)) first = at;
    }
    return first;
  }

  /** Length of the prefix that no later text can change into (part of) a stop string. */
  private safeEnd(): number {
    let end = this.text.length;
    while (end > this.released && this.text[end - 1] === '\uFFFD') end--;
    for (const stop of this.stopStrings) {
      for (let keep = Math.min(stop.length - 1, end - this.released); keep > 0; keep--) {
        if (this.text.endsWith(stop.slice(0, keep), end)) {
          end -= keep;
          break;
        }
      }
    }
    return end;
  }
}
