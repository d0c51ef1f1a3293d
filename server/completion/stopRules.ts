// When generation may stop: stop strings handed to the engine, and a check run on the streamed text that ends a
// multi-line suggestion as soon as post-processing would cut it anyway (no tokens generated only to be dropped).
import type { CursorContext } from './cursorContext.js';
import { scopeEnd } from './postprocess/indentationScope.js';
import { dropRepeatsOfNextLines } from './postprocess/nextLinesRepeat.js';
import { completionRules } from './rules.js';

/** Languages whose text may hold markdown code fences. */
const MARKDOWN_LANGUAGES = new Set(['markdown', 'mdx', 'quarto', 'rmd', 'plaintext']);

/**
 * Two blank lines end a multi-line suggestion (in a CRLF document the model writes CRLF); the FIM end-of-text marker
 * ends any suggestion. Outside markdown a code fence (```) ends it too: chat-tuned models (the bundled
 * SmolLM2-Instruct) close their "answer" with one, which the replay bench showed as whole suggestions of "```" in
 * TypeScript.
 */
export function stopStringsFor(context: CursorContext, fimEndOfText: string | null): string[] {
  const stops = context.multiline ? ['\n\n\n', '\r\n\r\n\r\n'] : ['\n'];
  if (!MARKDOWN_LANGUAGES.has(context.languageId)) stops.push('```');
  return fimEndOfText === null ? stops : [...stops, fimEndOfText];
}

/** True when the text streamed so far already holds everything the suggestion will show. */
export function suggestionComplete(text: string, context: CursorContext): boolean {
  const lastNewline = text.lastIndexOf('\n');
  if (lastNewline < 0) return false;
  if (!context.multiline) return true;
  const completeLines = text.slice(0, lastNewline);
  if (completeLines.split('\n').length >= completionRules.maxLines) return true;
  return (
    scopeEnd(completeLines, context) !== null ||
    dropRepeatsOfNextLines(completeLines, context) !== completeLines
  );
}
