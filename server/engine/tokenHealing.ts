/**
 * Token healing: the caller takes the end of a prompt's text back (a partial word, a trailing newline) and the
 * generation must begin with exactly that text, choosing its own tokens for it. A prompt cut inside a word ends on a
 * token the model rarely saw there (" suff" before "ixTokens"), and its continuation suffers; healed, the model picks
 * " suffixTokens" itself. The healed text is not part of the output.
 *
 * Healing runs as constrained steps of the mode's own model (layers [0, L), or [0, E) for early exit) before the
 * mode's usual steps, so greedy self-speculative output stays identical to full decoding.
 */
import { continuationDecoder, type TextCodec } from './tokenizer.js';

/** The text of every token id as it reads inside a sequence (computed once per tokenizer, on first use). */
export class VocabularyText {
  private texts: string[] | null = null;

  constructor(
    private readonly codec: TextCodec,
    private readonly vocabSize: number,
  ) {}

  get all(): readonly string[] {
    this.texts ??= tokenTexts(this.codec, this.vocabSize);
    return this.texts;
  }
}

/**
 * Byte tokens that are only part of a UTF-8 character read as U+FFFD and special tokens as '': neither can spell
 * text, so healing never picks them.
 */
function tokenTexts(codec: TextCodec, vocabSize: number): string[] {
  const decode = continuationDecoder(codec);
  return Array.from({ length: vocabSize }, (_, token) => {
    const text = decode([token]);
    return text.includes('\uFFFD') ? '' : text;
  });
}

/** Which tokens may come next while the healed text is being spelled, and how much of it is left. */
export class HealingConstraint {
  private remaining: string;

  constructor(
    healedText: string,
    private readonly vocabulary: VocabularyText,
  ) {
    this.remaining = healedText;
  }

  get done(): boolean {
    return this.remaining === '';
  }

  /** Tokens that spell the next part of the healed text: a piece of it, or all of it and more. */
  allowedTokens(): number[] {
    const allowed: number[] = [];
    for (const [token, text] of this.vocabulary.all.entries()) {
      if (text !== '' && (text.startsWith(this.remaining) || this.remaining.startsWith(text))) allowed.push(token);
    }
    if (allowed.length === 0) throw new RangeError(`no token of the vocabulary can spell ${JSON.stringify(this.remaining)} (token healing)`);
    return allowed;
  }

  /** Records chosen tokens (each one allowed when it was chosen). */
  advance(tokens: readonly number[]): void {
    for (const token of tokens) {
      const text = this.vocabulary.all[token];
      this.remaining = text.length >= this.remaining.length ? '' : this.remaining.slice(text.length);
    }
  }
}
