/**
 * Incremental detokenization with stop strings: text is released as soon as it is final, i.e. not the start of a
 * possible stop string and not an incomplete UTF-8 sequence (decoders render those as U+FFFD). The healed text the
 * generation begins with (tokenHealing.ts) belongs to the prompt: it is neither released nor searched for stops.
 */
import { continuationDecoder, type TextCodec } from './tokenizer.js';

export class TextStream {
  private readonly tokens: number[] = [];
  private released = 0; // characters of `text` already handed out
  private text = '';
  private stopped = false;
  private readonly decode: (tokens: readonly number[]) => string;

  constructor(
    codec: TextCodec,
    private readonly stopStrings: readonly string[],
    private readonly healedText = '',
  ) {
    this.decode = continuationDecoder(codec);
  }

  /** Adds tokens; returns the newly final text and whether a stop string was reached (text ends before it). */
  push(tokens: readonly number[]): { delta: string; stopped: boolean } {
    if (this.stopped) return { delta: '', stopped: true };
    this.tokens.push(...tokens);
    this.text = this.decode(this.tokens).slice(this.healedText.length);
    const stopAt = this.firstStopString();
    if (stopAt !== -1) {
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

  /** Length of the prefix that no later token can change into (part of) a stop string. */
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
