import type { CursorContext } from '../cursorContext.js';

/**
 * One post-processing step: takes the suggestion text (what would be inserted at the cursor) and returns it
 * trimmed, cut or unchanged; '' drops the suggestion. Filters only cut or trim: they never invent text.
 */
export type CompletionFilter = (completion: string, context: CursorContext) => string;
