import type { CompletionFilter } from './filter.js';

/**
 * Text follows the cursor on its line: keep only the rest of this line. Where that text is the line's code and only
 * indentation comes before the cursor, a suggestion that ends its line is a line of its own inserted above the code:
 * it keeps its line break, and the code keeps its indentation (unless the line is the code itself, retyped).
 */
export const limitToSingleLine: CompletionFilter = (completion, context) => {
  if (context.multiline) return completion;
  const newline = completion.indexOf('\n');
  if (newline < 0) return completion;
  const line = completion.slice(0, newline);
  if (!context.beforeCode) return line;
  return line.trim() === context.lineSuffix.trim() ? '' : `${line}\n${context.linePrefix}`;
};
