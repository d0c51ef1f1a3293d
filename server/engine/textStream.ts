/**
 * Incremental detokenization with stop strings (stopStringFilter.ts). The healed text the generation begins with
 * (tokenHealing.ts) belongs to the prompt: it is neither released nor searched for stops.
 */
import { StopStringFilter } from './stopStringFilter.js';
import { continuationDecoder, type TextCodec } from './tokenizer.js';

export class TextStream {
  private readonly tokens: number[] = [];
  private readonly filter: StopStringFilter;
  private readonly decode: (tokens: readonly number[]) => string;

  constructor(
    codec: TextCodec,
    stopStrings: readonly string[],
    private readonly healedText = '',
  ) {
    this.decode = continuationDecoder(codec);
    this.filter = new StopStringFilter(stopStrings);
  }

  /** Adds tokens; returns the newly final text and whether a stop string was reached (text ends before it). */
  push(tokens: readonly number[]): { delta: string; stopped: boolean } {
    this.tokens.push(...tokens);
    return this.filter.update(this.decode(this.tokens).slice(this.healedText.length));
  }

  /** Everything not yet released (the generation ended; nothing can complete a stop string any more). */
  flush(): string {
    return this.filter.flush();
  }

  get fullText(): string {
    return this.filter.fullText;
  }
}
