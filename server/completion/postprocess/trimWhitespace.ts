import { completionRules } from '../rules.js';
import type { CompletionFilter } from './filter.js';

/**
 * Every line break becomes '\n': editors insert it as the document's own line ending, while a lone '\r' from the
 * model would be a line break to the editor and to LSP positions but not to the line-based filters that follow.
 */
export const normalizeLineBreaks: CompletionFilter = (completion) => completion.replace(/\r\n?/g, '\n');

/** Trailing blank lines and spaces would only move the cursor; a suggestion of whitespace alone is noise. */
export const trimTrailingWhitespace: CompletionFilter = (completion) => completion.trimEnd();

export const dropTooShort: CompletionFilter = (completion) =>
  completion.trim().length < completionRules.minCharacters ? '' : completion;
