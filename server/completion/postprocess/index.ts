// The post-processing pipeline, in order. Each filter only cuts or trims (see filter.ts), line breaks aside; ''
// drops the suggestion.
import type { CursorContext } from '../cursorContext.js';
import { balanceBrackets } from './brackets.js';
import { trimDuplicatedSuffix } from './duplicatedSuffix.js';
import type { CompletionFilter } from './filter.js';
import { limitScopeByIndentation } from './indentationScope.js';
import { limitLineCount } from './maxLines.js';
import { dropRepeatsOfNextLines } from './nextLinesRepeat.js';
import { removeRepetition } from './repetition.js';
import { limitToSingleLine } from './singleLine.js';
import { dropTooShort, normalizeLineBreaks, trimTrailingWhitespace } from './trimWhitespace.js';

const pipeline: readonly CompletionFilter[] = [
  normalizeLineBreaks,
  limitToSingleLine,
  removeRepetition,
  limitScopeByIndentation,
  dropRepeatsOfNextLines,
  balanceBrackets,
  trimDuplicatedSuffix,
  limitLineCount,
  trimTrailingWhitespace,
  dropTooShort,
];

export function postprocess(completion: string, context: CursorContext): string {
  let text = completion;
  for (const filter of pipeline) {
    text = filter(text, context);
    if (text === '') return '';
  }
  return text;
}
