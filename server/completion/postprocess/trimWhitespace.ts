import { completionRules } from '../rules.js';
import type { CompletionFilter } from './filter.js';

/** Trailing blank lines and spaces would only move the cursor; a suggestion of whitespace alone is noise. */
export const trimTrailingWhitespace: CompletionFilter = (completion) => completion.trimEnd();

export const dropTooShort: CompletionFilter = (completion) =>
  completion.trim().length < completionRules.minCharacters ? '' : completion;
