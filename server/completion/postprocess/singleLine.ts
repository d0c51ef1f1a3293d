import type { CompletionFilter } from './filter.js';

/** Text follows the cursor on its line: keep only the rest of this line. */
export const limitToSingleLine: CompletionFilter = (completion, context) => {
  if (context.multiline) return completion;
  const newline = completion.indexOf('\n');
  return newline < 0 ? completion : completion.slice(0, newline);
};
