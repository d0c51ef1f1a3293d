import { completionRules } from '../rules.js';
import type { CompletionFilter } from './filter.js';

/**
 * Every line break becomes '\n': editors insert it as the document's own line ending, while a lone '\r' from the
 * model would be a line break to the editor and to LSP positions but not to the line-based filters that follow.
 */
export const normalizeLineBreaks: CompletionFilter = (completion) => completion.replace(/\r\n?/g, '\n');

/** A word goes on after the cursor: "return █value;" suggested "await " must read "await value". */
const WORD_START = /^[\p{L}\p{N}_$]/u;

/**
 * Trailing blank lines and spaces would only move the cursor, unless a word follows the cursor on its line (they
 * separate the suggestion from it) or the suggestion is a line inserted above the line's code (its line break and the
 * code's indentation). A suggestion of whitespace alone is noise.
 */
export const trimTrailingWhitespace: CompletionFilter = (completion, context) =>
  WORD_START.test(context.lineSuffix) || (context.beforeCode && completion.includes('\n')) ? completion : completion.trimEnd();

export const dropTooShort: CompletionFilter = (completion) =>
  completion.trim().length < completionRules.minCharacters ? '' : completion;
