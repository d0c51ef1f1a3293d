// Snippets from other open documents of the same language, around where the user last worked in them, written as
// comments so any code model reads them as context. They change only when those documents do, so the prompt's
// head (and the engine's prompt cache) stays stable while the user types in the current one.
import { completionRules } from './rules.js';

export interface OpenDocument {
  uri: string;
  languageId: string;
  text: string;
  /** Line of the last completion request there (where the user works); 0 if never. */
  focusLine: number;
  /** Monotonic stamp of the last completion request there, to prefer recently used documents. */
  lastUsed: number;
}

const HASH_COMMENT_LANGUAGES = new Set(['python', 'shellscript', 'ruby', 'perl', 'r', 'yaml', 'toml', 'makefile', 'dockerfile', 'julia', 'elixir', 'coffeescript', 'powershell']);
const DASH_COMMENT_LANGUAGES = new Set(['lua', 'sql', 'haskell']);

function lineComment(languageId: string): string {
  if (HASH_COMMENT_LANGUAGES.has(languageId)) return '#';
  if (DASH_COMMENT_LANGUAGES.has(languageId)) return '--';
  return '//';
}

export function crossFileContext(current: { uri: string; languageId: string }, documents: Iterable<OpenDocument>, maxChars: number): string {
  const others = [...documents]
    .filter((doc) => doc.uri !== current.uri && doc.languageId === current.languageId && doc.text.trim() !== '')
    .sort((a, b) => b.lastUsed - a.lastUsed)
    .slice(0, completionRules.crossFileSnippets);
  const comment = lineComment(current.languageId);
  let context = '';
  for (const doc of others) {
    const lines = doc.text.split('\n');
    const half = Math.floor(completionRules.crossFileSnippetLines / 2);
    const from = Math.max(0, Math.min(doc.focusLine - half, lines.length - completionRules.crossFileSnippetLines));
    const snippet = lines.slice(from, from + completionRules.crossFileSnippetLines);
    const name = doc.uri.slice(doc.uri.lastIndexOf('/') + 1);
    const block = [`Path: ${name}`, ...snippet].map((line) => `${comment} ${line}`.trimEnd()).join('\n') + '\n';
    if (context.length + block.length > maxChars) break;
    context += block;
  }
  return context;
}
