import type { CompletionFilter } from './filter.js';

const LEADING_CLOSERS = /^[)\]}>'"`;,]+/;

/**
 * The suggestion is inserted before the rest of the cursor's line: if it ends with that same text (all of it,
 * or the closing punctuation it starts with), remove it so that it does not appear twice.
 */
export const trimDuplicatedSuffix: CompletionFilter = (completion, context) => {
  const rest = context.lineSuffix.trim();
  // a line inserted above the line's code (cursorContext.beforeCode) ends with a line break: nothing of it meets the code
  if (rest === '' || (context.beforeCode && completion.includes('\n'))) return completion;
  const body = completion.trimEnd();
  if (body.endsWith(rest)) return body.slice(0, body.length - rest.length);
  const closers = LEADING_CLOSERS.exec(rest)?.[0] ?? '';
  for (let length = closers.length; length > 0; length--) {
    if (body.endsWith(closers.slice(0, length))) return body.slice(0, body.length - length);
  }
  return completion;
};
