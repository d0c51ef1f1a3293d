import { completionRules } from '../rules.js';
import type { CompletionFilter } from './filter.js';

/** A ghost text taller than a screenful is more noise than help. */
export const limitLineCount: CompletionFilter = (completion) =>
  completion.split('\n').slice(0, completionRules.maxLines).join('\n');
