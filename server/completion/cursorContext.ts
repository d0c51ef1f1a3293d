// The text around the cursor as plain data: everything the prompt, stop rules and post-processing filters read.

/** Characters that may follow the cursor on its line and still allow a multi-line suggestion (Tabby's rule). */
const CLOSING_ONLY = /^[\s)\]}>'"`;,]*$/;
const NEXT_LINES_KEPT = 20;

export interface CursorContext {
  languageId: string;
  /** Document text before / after the cursor. */
  prefix: string;
  suffix: string;
  /** The cursor's line, split at the cursor. */
  linePrefix: string;
  lineSuffix: string;
  /** Lines after the cursor's line (a few), for repetition checks. */
  nextLines: string[];
  /** Indentation width of the cursor's line (of the text before the cursor if the line is blank so far). */
  indentation: number;
  /** Nothing but closing punctuation follows the cursor on its line: a multi-line suggestion may be offered. */
  multiline: boolean;
  /**
   * The cursor is where its line's code begins (indentation before it, code after it): a suggestion that ends its own
   * line there is a line inserted above that code, not text glued to it.
   */
  beforeCode: boolean;
}

export function indentationOf(line: string): number {
  let width = 0;
  for (const ch of line) {
    if (ch === ' ') width += 1;
    else if (ch === '\t') width += 4;
    else break;
  }
  return width;
}

export function cursorContext(text: string, offset: number, languageId: string): CursorContext {
  const prefix = text.slice(0, offset);
  const suffix = text.slice(offset);
  const lineStart = prefix.lastIndexOf('\n') + 1;
  const newlineAfter = suffix.indexOf('\n');
  const linePrefix = prefix.slice(lineStart);
  const lineSuffix = (newlineAfter < 0 ? suffix : suffix.slice(0, newlineAfter)).replace(/\r$/, '');
  const rest = newlineAfter < 0 ? '' : suffix.slice(newlineAfter + 1);
  const nextLines = rest.split('\n', NEXT_LINES_KEPT).map((line) => line.replace(/\r$/, ''));
  const multiline = CLOSING_ONLY.test(lineSuffix);
  return {
    languageId,
    prefix,
    suffix,
    linePrefix,
    lineSuffix,
    nextLines: rest === '' ? [] : nextLines,
    indentation: indentationOf(linePrefix),
    multiline,
    beforeCode: !multiline && linePrefix.trim() === '',
  };
}
