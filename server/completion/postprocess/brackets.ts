import type { CompletionFilter } from './filter.js';

const PAIRS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
const OPENERS = new Set(Object.values(PAIRS));
const QUOTES = new Set(['"', "'", '`']);

/**
 * Cut the suggestion before the first closing bracket that does not match the innermost bracket left open
 * (by the cursor's line or by the suggestion itself): `foo(a[1|` must not continue with `)`.
 * A closer with nothing open is allowed: it may close a block opened on an earlier line.
 */
export const balanceBrackets: CompletionFilter = (completion, context) => {
  const open = openBrackets(context.linePrefix, []);
  let quote: string | null = null;
  for (let i = 0; i < completion.length; i++) {
    const ch = completion[i];
    if (quote !== null) {
      if (ch === '\\') i++;
      else if (ch === quote || ch === '\n') quote = null;
    } else if (QUOTES.has(ch)) {
      quote = ch;
    } else if (OPENERS.has(ch)) {
      open.push(ch);
    } else if (ch in PAIRS && open.length > 0) {
      if (open[open.length - 1] !== PAIRS[ch]) return completion.slice(0, i);
      open.pop();
    }
  }
  return completion;
};

/** Brackets left open by `text` (string literals skipped), innermost last. */
function openBrackets(text: string, open: string[]): string[] {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== null) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (QUOTES.has(ch)) quote = ch;
    else if (OPENERS.has(ch)) open.push(ch);
    else if (ch in PAIRS && open[open.length - 1] === PAIRS[ch]) open.pop();
  }
  return open;
}
