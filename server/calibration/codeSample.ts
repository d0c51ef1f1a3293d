// The text a calibration measures agreement on: the user's code (open documents, recently edited files, files named
// on the command line), bounded, topped up from a bundled code sample when there is too little of it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Tokens of sample in all (agreement costs about two full-model prefills of it). */
export const SAMPLE_TOKENS = 1536;
/** Longest window: each window runs from position 0 with its own cache, so attention stays a completion's size. */
export const WINDOW_TOKENS = 1024;
/** Below this much user code the bundled sample fills the rest. */
export const MIN_USER_TOKENS = 512;
/** Characters a token covers at most, in practice (code tokenizers average 3-4). */
const MAX_CHARS_PER_TOKEN = 8;
/** Shortest window worth measuring (a tiny file says little and costs a pass). */
const MIN_WINDOW_TOKENS = 32;

/** Where the bundled sample is, relative to the package (extension) root: the code the draft vocabulary came from. */
export const BUNDLED_SAMPLE = 'media/draft-corpus.txt';
/** Characters of the bundled sample read (it is ~180 KB; a few thousand tokens are all that is used). */
export const BUNDLED_SAMPLE_CHARS = 24_000;

export interface SampleText {
  /** File name or URI, for the report. */
  name: string;
  text: string;
}

export interface CodeSample {
  windows: number[][];
  /** What the sample came from, e.g. "3 open documents + bundled sample". */
  source: string;
}

/**
 * Tokenizes `texts` in order (most relevant first) into windows of at most WINDOW_TOKENS, until `budget` tokens;
 * tops up from `bundled` below MIN_USER_TOKENS. Each window starts with BOS when the model has one.
 */
export function codeSample(
  texts: readonly SampleText[],
  bundled: SampleText | null,
  tokenize: (text: string) => number[],
  bosTokenId: number | null,
  budget = SAMPLE_TOKENS,
): CodeSample {
  const windows: number[][] = [];
  let tokens = 0;
  const take = (text: string): number => {
    let taken = 0;
    // a huge document is cut before tokenizing: the budget needs a few characters a token at most
    const ids = tokenize(text.slice(0, budget * MAX_CHARS_PER_TOKEN));
    const room = (): number => Math.min(WINDOW_TOKENS, budget - tokens) - (bosTokenId === null ? 0 : 1);
    for (let start = 0; start < ids.length && room() >= MIN_WINDOW_TOKENS; ) {
      const piece = ids.slice(start, start + room());
      if (piece.length < MIN_WINDOW_TOKENS) break;
      const window = bosTokenId === null ? piece : [bosTokenId, ...piece];
      windows.push(window);
      tokens += window.length;
      taken += window.length;
      start += piece.length;
    }
    return taken;
  };
  let files = 0;
  for (const { text } of texts) {
    if (tokens >= budget) break;
    if (take(text) > 0) files++;
  }
  const parts = files > 0 ? [`${files} file${files === 1 ? '' : 's'} of yours`] : [];
  if (tokens < MIN_USER_TOKENS && bundled !== null && take(bundled.text) > 0) parts.push(bundled.name);
  return { windows, source: parts.join(' + ') || 'nothing' };
}

/** The bundled sample under `packageRoot`, or null when it is not there. */
export function bundledSample(packageRoot: string): SampleText | null {
  try {
    const text = readFileSync(join(packageRoot, BUNDLED_SAMPLE), 'utf8').slice(0, BUNDLED_SAMPLE_CHARS);
    return { name: 'the bundled code sample', text };
  } catch {
    return null;
  }
}
