import { completionRules } from '../rules.js';
import type { CompletionFilter } from './filter.js';

const MAX_BLOCK_LINES = 4;

/** Small models loop: cut a block of lines repeated right after itself, and a run of the same text in a line. */
export const removeRepetition: CompletionFilter = (completion) => {
  const lines = completion.split('\n');
  const end = firstRepeatedBlock(lines);
  const kept = lines.slice(0, end);
  const last = kept.length - 1;
  kept[last] = cutRepeatedTail(kept[last]);
  return kept.join('\n');
};

/** Index of the first line that starts a repetition of the block just before it (lines.length if none). */
function firstRepeatedBlock(lines: string[]): number {
  for (let i = 1; i < lines.length; i++) {
    for (let size = 1; size <= Math.min(MAX_BLOCK_LINES, i, lines.length - i); size++) {
      const block = lines.slice(i - size, i);
      const next = lines.slice(i, i + size);
      const substantial = block.join('').trim().length >= completionRules.repeatedTailMinLength;
      if (substantial && block.every((line, k) => line === next[k])) return i;
    }
  }
  return lines.length;
}

/** "x = foo foo foo foo" -> "x = foo": the tail repeated repeatedTailCount times or more is kept once. */
function cutRepeatedTail(line: string): string {
  const { repeatedTailMinLength: minLength, repeatedTailCount: count } = completionRules;
  for (let period = minLength; period * count <= line.length; period++) {
    const unit = line.slice(line.length - period);
    if (unit.trim() === '') continue;
    let repeats = 1;
    while (line.slice(line.length - period * (repeats + 1), line.length - period * repeats) === unit) repeats++;
    if (repeats >= count) return line.slice(0, line.length - period * (repeats - 1));
  }
  return line;
}
