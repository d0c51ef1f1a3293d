import { indentationOf, type CursorContext } from '../cursorContext.js';
import type { CompletionFilter } from './filter.js';

const OPENS_BLOCK = /[{([:]\s*$/;
const CLOSER_LINE = /^\s*[)\]}]/;

/**
 * A multi-line suggestion stays inside the cursor's block. When the cursor's line opens a block, the suggestion
 * ends with the line that closes it (kept if it is a closing bracket); otherwise it ends before the first line
 * indented less than the cursor's line.
 */
export const limitScopeByIndentation: CompletionFilter = (completion, context) => {
  const end = scopeEnd(completion, context);
  return end === null ? completion : completion.split('\n').slice(0, end).join('\n');
};

/** How many lines of `completion` lie inside the cursor's scope; null if the scope has not ended within it. */
export function scopeEnd(completion: string, context: CursorContext): number | null {
  const lines = completion.split('\n');
  const firstLine = context.linePrefix + lines[0];
  const base = indentationOf(firstLine.trim() === '' ? context.linePrefix : firstLine);
  const opensBlock = OPENS_BLOCK.test(firstLine);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const indentation = indentationOf(line);
    if (opensBlock && indentation <= base) return CLOSER_LINE.test(line) ? i + 1 : i;
    if (!opensBlock && indentation < base) return i;
  }
  return null;
}
