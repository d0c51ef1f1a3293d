// Whether a request is an earlier one plus characters typed at its cursor (and nothing else changed), or the same
// document at the same cursor: then a generation started for the earlier request may serve the later one (see
// inFlightGeneration.ts).
import type { CompletionRequest } from './completionService.js';

/**
 * The characters typed at `before`'s cursor to reach `after` ('' for the same document and cursor), or null (anything
 * else changed, or a line break was typed).
 */
export function typedAtCursor(before: CompletionRequest, after: CompletionRequest): string | null {
  const length = after.offset - before.offset;
  if (
    after.uri !== before.uri ||
    after.languageId !== before.languageId ||
    after.context !== before.context ||
    length < 0 ||
    after.text.length - before.text.length !== length
  ) {
    return null;
  }
  const typed = after.text.slice(before.offset, after.offset);
  if (/[\r\n]/.test(typed)) return null;
  const unchanged = after.text.startsWith(before.text.slice(0, before.offset)) && after.text.endsWith(before.text.slice(before.offset));
  return unchanged ? typed : null;
}
