// Every tuning number of the completion pipeline, in one place (Tabby's tabby-agent keeps one rules object too).
import { CLIENT_DEBOUNCE_MAX_MS } from '../protocol.js';

export const completionRules = {
  /** Prefix window: when it must move, re-anchor so that this share of the budget is used, leaving room to type. */
  prefixRefillShare: 0.75,
  /** Characters per token used to guess a window before tokenizing it (code averages ~3-4). */
  charsPerTokenGuess: 3,
  /** Cross-file context: at most this many snippets, each this many lines, within this share of the prefix budget. */
  crossFileSnippets: 3,
  crossFileSnippetLines: 24,
  crossFileShare: 0.25,
  /** A multi-line suggestion never exceeds this many lines. */
  maxLines: 12,
  /** A line repeated this many times in a row (or a tail repeated in a line) is cut back to one occurrence. */
  repeatedLinesLimit: 2,
  repeatedTailMinLength: 3,
  repeatedTailCount: 3,
  /** Suggestions shorter than this (after trimming whitespace) are dropped. */
  minCharacters: 1,
  /** Larger documents (or ones holding NUL characters, i.e. binary) get no suggestions. */
  maxDocumentCharacters: 2_000_000,
  /** Stream a partial result at most this often. */
  partialResultIntervalMs: 30,
  /**
   * How long a generation whose request was cancelled waits for another request to take it over
   * (inFlightGeneration.ts): the client's longest debounce, the most a keystroke's own request comes after it. In the replay bench (2 seeds) requests took over 98-245 ms after the cancellation; a
   * 150 / 250 / 400 ms grace gave 15+27 / 21+31 / 26+32 take-overs and p95 keystroke-to-ghost-text 256+329 / 245+319 /
   * 216+273 ms for about the same server CPU (generations taken over are work that is used).
   */
  adoptionGraceMs: CLIENT_DEBOUNCE_MAX_MS,
};
