// Fill-in-the-middle prompt with token budgets, laid out so that consecutive keystrokes share a long token prefix
// (the engine's prompt cache then re-uses it): [BOS] [PRE] snippets prefix-window [SUF] suffix-window [MID].
// The prefix window starts at a line boundary that stays put while the user types; it moves only when the window
// outgrows its budget, and then jumps so that a quarter of the budget is free again.
// Token healing: the word being typed (or the trailing whitespace, or a last punctuation mark) is left out of the
// prompt and handed to the engine as text the generation must begin with, so the model tokenizes it the way it
// would have written it (" suffixTokens", not " suff" + "ixTokens"). While a word is typed the prompt's tokens stay
// the same, and the engine's prompt cache holds all of them.
import { completionRules } from './rules.js';

export interface FimMarkers {
  prefix: string;
  suffix: string;
  middle: string;
}

export interface Tokenize {
  (text: string): Promise<number[]>;
}

export interface PromptBudget {
  prefixTokens: number;
  suffixTokens: number;
}

export interface PromptInput {
  /** Identifies the document whose window anchor is kept. */
  uri: string;
  prefix: string;
  suffix: string;
  /** Cross-file context, already formatted as comments; placed before the prefix window. */
  context: string;
}

export interface Prompt {
  tokens: number[];
  /** Character offset in the prefix where the window starts. */
  windowStart: number;
  /** The end of the prefix left out of `tokens`: the generation must begin with it (engine param healedText). */
  healedText: string;
}

/** At most this much of the prefix is healed; a longer word is left as it is. */
const MAX_HEALED_CHARACTERS = 32;
/** A word (with the one space or tab BPE vocabularies attach to it), a run of whitespace, or one ASCII punctuation mark. */
const HEALED_END = /(?:[ \t]?[\p{L}\p{N}_$]+|\s+|[!-/:-@[-`{-~])$/u;

/** What token healing takes back from the end of `prefix` ('' for nothing); only ASCII, which any vocabulary spells. */
export function healedTextOf(prefix: string): string {
  const match = HEALED_END.exec(prefix.slice(-(MAX_HEALED_CHARACTERS + 1)));
  // (a prefix that is nothing but the healed text keeps it: the prompt needs a token before the generation)
  if (match === null || match[0].length > MAX_HEALED_CHARACTERS || match[0].length === prefix.length) return '';
  return /^[\x09\x0a\x0d\x20-\x7e]+$/.test(match[0]) ? match[0] : '';
}

export class PromptBuilder {
  /** Per document: offset of the prefix window's first character (always a line start). */
  private readonly anchors = new Map<string, number>();
  private markerTokens: Promise<{ prefix: number[]; suffix: number[]; middle: number[] }> | null = null;
  /** The last cross-file context and its tokens: it changes when other documents do, not on every keystroke. */
  private lastContext: { text: string; tokens: number[] } | null = null;

  constructor(
    private readonly tokenize: Tokenize,
    /** null: the model has no FIM tokens, prompts are prefix-only. */
    private readonly fim: FimMarkers | null,
    private readonly bosTokenId: number | null = null,
    /** Off only to measure what healing buys (npm run bench:quality). */
    private readonly tokenHealing = true,
  ) {}

  async build(input: PromptInput, budget: PromptBudget): Promise<Prompt> {
    const contextTokens = await this.contextTokens(input.context);
    const prefixBudget = Math.max(16, budget.prefixTokens - contextTokens.length);
    const healedText = this.tokenHealing ? healedTextOf(input.prefix) : '';
    const kept = { ...input, prefix: input.prefix.slice(0, input.prefix.length - healedText.length) };
    const { tokens: prefixTokens, start } = await this.prefixWindow(kept, prefixBudget);
    const bos = this.bosTokenId === null ? [] : [this.bosTokenId];
    if (this.fim === null) return { tokens: [...bos, ...contextTokens, ...prefixTokens], windowStart: start, healedText };
    const markers = await this.markers(this.fim);
    const suffixTokens = await this.suffixWindow(input.suffix, budget.suffixTokens);
    return {
      tokens: [
        ...bos,
        ...markers.prefix,
        ...contextTokens,
        ...prefixTokens,
        ...markers.suffix,
        ...suffixTokens,
        ...markers.middle,
      ],
      windowStart: start,
      healedText,
    };
  }

  forget(uri: string): void {
    this.anchors.delete(uri);
  }

  private async prefixWindow(input: PromptInput, budget: number): Promise<{ tokens: number[]; start: number }> {
    const anchor = this.anchors.get(input.uri);
    if (anchor !== undefined && anchor <= input.prefix.length && isLineStart(input.prefix, anchor)) {
      const tokens = await this.tokenize(input.prefix.slice(anchor));
      if (tokens.length <= budget) return { tokens, start: anchor };
    }
    // Re-anchor: guess a start from the character budget, then move it down line by line until it fits.
    const target = Math.floor(budget * completionRules.prefixRefillShare);
    let start = lineStartAtOrAfter(input.prefix, input.prefix.length - target * completionRules.charsPerTokenGuess);
    if (start === input.prefix.length) start = input.prefix.lastIndexOf('\n') + 1;
    let tokens = await this.tokenize(input.prefix.slice(start));
    while (tokens.length > target) {
      const charsPerToken = (input.prefix.length - start) / tokens.length;
      const next = lineStartAtOrAfter(input.prefix, start + Math.max(1, Math.ceil((tokens.length - target) * charsPerToken)));
      // A single line longer than the budget: keep its last `budget` tokens (no line boundary to snap to).
      if (next >= input.prefix.length || next === start) return { tokens: tokens.slice(-target), start };
      start = next;
      tokens = await this.tokenize(input.prefix.slice(start));
    }
    this.anchors.set(input.uri, start);
    return { tokens, start };
  }

  private async contextTokens(context: string): Promise<number[]> {
    if (context === '') return [];
    if (this.lastContext !== null && this.lastContext.text === context) return this.lastContext.tokens;
    const tokens = await this.tokenize(context);
    this.lastContext = { text: context, tokens };
    return tokens;
  }

  private async suffixWindow(suffix: string, budget: number): Promise<number[]> {
    if (budget <= 0 || suffix === '') return [];
    const guess = suffix.slice(0, budget * completionRules.charsPerTokenGuess * 2);
    const lineEnd = guess.lastIndexOf('\n');
    const text = lineEnd > 0 && guess.length < suffix.length ? guess.slice(0, lineEnd + 1) : guess;
    return (await this.tokenize(text)).slice(0, budget);
  }

  private markers(fim: FimMarkers): Promise<{ prefix: number[]; suffix: number[]; middle: number[] }> {
    this.markerTokens ??= Promise.all([this.tokenize(fim.prefix), this.tokenize(fim.suffix), this.tokenize(fim.middle)])
      .then(([prefix, suffix, middle]) => ({ prefix, suffix, middle }));
    return this.markerTokens;
  }
}

function isLineStart(text: string, offset: number): boolean {
  return offset === 0 || text[offset - 1] === '\n';
}

/** The first line start at or after `offset` (0 if offset <= 0; text.length if none). */
function lineStartAtOrAfter(text: string, offset: number): number {
  if (offset <= 0) return 0;
  if (isLineStart(text, offset)) return offset;
  const newline = text.indexOf('\n', offset);
  return newline < 0 ? text.length : newline + 1;
}
