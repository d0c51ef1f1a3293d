import type { CompletionFilter } from './filter.js';

/**
 * The model often "completes" by retyping the code that already follows the cursor. Drop a suggestion that only
 * repeats the next line; cut a multi-line one where it reaches the document's next non-blank line. Lines are
 * compared with their indentation, so a `}` closing an inner block is not mistaken for the outer one below.
 */
export const dropRepeatsOfNextLines: CompletionFilter = (completion, context) => {
  const nextLine = context.nextLines.find((line) => line.trim() !== '')?.trimEnd();
  if (nextLine === undefined) return completion;
  const lines = completion.split('\n');
  if (context.linePrefix.trim() === '' && (context.linePrefix + lines[0]).trimEnd() === nextLine) return '';
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trimEnd() === nextLine) return lines.slice(0, i).join('\n');
  }
  return completion;
};
