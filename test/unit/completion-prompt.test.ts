import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossFileContext } from '../../server/completion/crossFileContext.js';
import { cursorContext } from '../../server/completion/cursorContext.js';
import { healedTextOf, PromptBuilder } from '../../server/completion/prompt.js';
import { stopStringsFor, suggestionComplete } from '../../server/completion/stopRules.js';

// One token per character (FIM markers are one token each), so token budgets can be checked by counting.
const MARKERS = { prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>' };
const MARKER_IDS: Record<string, number> = { '<PRE>': -1, '<SUF>': -2, '<MID>': -3 };
const charTokenizer = async (text: string): Promise<number[]> =>
  text in MARKER_IDS ? [MARKER_IDS[text]] : [...text].map((ch) => ch.codePointAt(0) ?? 0);
const decode = (tokens: number[]): string => tokens.map((t) => (t < 0 ? '|' : String.fromCodePoint(t))).join('');

const source = Array.from({ length: 200 }, (_, i) => `line ${String(i).padStart(3, '0')} of the file;`).join('\n');

void test('the prompt is PRE prefix SUF suffix MID within the budgets, the window starting on a line', async () => {
  const builder = new PromptBuilder(charTokenizer, MARKERS);
  const offset = source.indexOf('line 150');
  const prompt = await builder.build(
    { uri: 'a', prefix: source.slice(0, offset), suffix: source.slice(offset), context: '' },
    { prefixTokens: 300, suffixTokens: 100 },
  );
  const text = decode(prompt.tokens);
  assert.match(text, /^\|line \d{3} of the file;\n[\s\S]*\|line 150[\s\S]*\|$/);
  const [, prefix, suffix] = text.split('|');
  assert.ok(prefix.length <= 300 && prefix.length >= 150, `prefix window of ${prefix.length} tokens`);
  assert.ok(suffix.length <= 100, `suffix window of ${suffix.length} tokens`);
  assert.equal(prompt.healedText, '\n', 'the cursor starts a line: the newline is healed');
  assert.equal(source.slice(prompt.windowStart, offset), prefix + prompt.healedText);
});

void test('typing keeps the window start, so each prompt extends the previous one up to its healed text', async () => {
  const builder = new PromptBuilder(charTokenizer, MARKERS);
  const offset = source.indexOf('line 150');
  const typed = 'const answer = 42;';
  const starts = new Set<number>();
  const healed: string[] = [];
  let previous: { tokens: number[]; keptLength: number } | null = null;
  for (let i = 0; i <= typed.length; i++) {
    const prefix = source.slice(0, offset) + typed.slice(0, i);
    const prompt = await builder.build({ uri: 'a', prefix, suffix: source.slice(offset), context: '' }, { prefixTokens: 300, suffixTokens: 50 });
    starts.add(prompt.windowStart);
    healed.push(prompt.healedText);
    const window = decode(prompt.tokens).split('|')[1];
    assert.equal(window + prompt.healedText, prefix.slice(prompt.windowStart), 'the window and the healed text spell the prefix');
    if (previous !== null) {
      const differs = previous.tokens.findIndex((token, k) => token !== prompt.tokens[k]);
      const shared = differs === -1 ? previous.tokens.length : differs;
      assert.ok(shared >= 1 + previous.keptLength, 'everything the previous prompt held before its healed text is shared');
    }
    previous = { tokens: prompt.tokens, keptLength: window.length };
  }
  assert.equal(starts.size, 1);
  assert.deepEqual(healed.slice(1, 9), ['c', 'co', 'con', 'cons', 'const', ' ', ' a', ' an'], 'the word being typed is healed');
});

void test('token healing takes back a word with its space, trailing whitespace or one punctuation mark, ASCII only', () => {
  assert.equal(healedTextOf('const suff'), ' suff');
  assert.equal(healedTextOf('  this.mark'), 'mark');
  assert.equal(healedTextOf('f(a,\n    '), '\n    ');
  assert.equal(healedTextOf('items.'), '.');
  assert.equal(healedTextOf('x = déjà'), '', 'not ASCII: left in the prompt');
  assert.equal(healedTextOf('x = ' + 'a'.repeat(40)), '', 'a word longer than the limit stays');
  assert.equal(healedTextOf('word'), '', 'a prompt needs something before the healed text');
  assert.equal(healedTextOf(''), '');
});

void test('the window moves only once it outgrows its budget, and then by a chunk', async () => {
  const builder = new PromptBuilder(charTokenizer, MARKERS);
  const starts: number[] = [];
  for (let line = 100; line < 140; line++) {
    const offset = source.indexOf(`line ${line}`);
    const prompt = await builder.build({ uri: 'a', prefix: source.slice(0, offset), suffix: '', context: '' }, { prefixTokens: 300, suffixTokens: 0 });
    starts.push(prompt.windowStart);
  }
  const moves = starts.filter((start, i) => i > 0 && start !== starts[i - 1]).length;
  assert.ok(moves > 0 && moves <= 10, `window moved ${moves} times over 40 lines`);
});

void test('without FIM markers the prompt is the prefix alone', async () => {
  const builder = new PromptBuilder(charTokenizer, null);
  const prompt = await builder.build({ uri: 'a', prefix: 'abc\ndef', suffix: 'ghi', context: '// ctx\n' }, { prefixTokens: 100, suffixTokens: 100 });
  assert.equal(decode(prompt.tokens), '// ctx\nabc\n');
  assert.equal(prompt.healedText, 'def');
  const withBos = await new PromptBuilder(charTokenizer, MARKERS, 1).build({ uri: 'a', prefix: 'x', suffix: 'y', context: '' }, { prefixTokens: 10, suffixTokens: 10 });
  assert.deepEqual(withBos.tokens, [1, -1, 120, -2, 121, -3], 'BOS, then PRE x SUF y MID');
});

void test('an unchanged cross-file context is tokenized once, not again on every keystroke', async () => {
  const tokenized: string[] = [];
  const counting = (text: string): Promise<number[]> => {
    tokenized.push(text);
    return charTokenizer(text);
  };
  const builder = new PromptBuilder(counting, null);
  const context = '// Path: b.ts\n// const b = 1;\n';
  const first = await builder.build({ uri: 'a', prefix: 'const a', suffix: '', context }, { prefixTokens: 100, suffixTokens: 0 });
  const second = await builder.build({ uri: 'a', prefix: 'const ab', suffix: '', context }, { prefixTokens: 100, suffixTokens: 0 });
  assert.equal(tokenized.filter((text) => text === context).length, 1);
  assert.equal(decode(first.tokens) + first.healedText, context + 'const a');
  assert.equal(decode(second.tokens) + second.healedText, context + 'const ab');
  await builder.build({ uri: 'a', prefix: 'const ab', suffix: '', context: '// Path: c.ts\n' }, { prefixTokens: 100, suffixTokens: 0 });
  assert.ok(tokenized.includes('// Path: c.ts\n'), 'a changed context is tokenized');
});

void test('a single line longer than the budget keeps its last tokens', async () => {
  const builder = new PromptBuilder(charTokenizer, null);
  const prompt = await builder.build({ uri: 'a', prefix: 'x'.repeat(5000) + 'END', suffix: '', context: '' }, { prefixTokens: 100, suffixTokens: 0 });
  assert.ok(prompt.tokens.length <= 100);
  assert.ok(decode(prompt.tokens).endsWith('END'));
});

void test('mid-line requests stop at the line end; line-end requests stop when the block is left', () => {
  const midLine = cursorContext('foo(a, b)', 5, 'typescript');
  assert.deepEqual(stopStringsFor(midLine, '<EOT>'), ['\n', '```', '<EOT>']);
  assert.deepEqual(stopStringsFor(cursorContext('# Title\n', 8, 'markdown'), null), ['\n\n\n', '\r\n\r\n\r\n'], 'a fence is text in markdown');
  const code = 'function f() {\n  if (x) {';
  const lineEnd = cursorContext(code, code.length, 'typescript');
  assert.equal(lineEnd.multiline, true);
  assert.equal(suggestionComplete('\n    a();\n', lineEnd), false);
  assert.equal(suggestionComplete('\n    a();\n  }\n', lineEnd), true);
});

void test('cross-file context: same-language documents, most recently used first, around where the user worked', () => {
  const lines = (name: string) => Array.from({ length: 100 }, (_, i) => `${name}${i}`).join('\n');
  const context = crossFileContext(
    { uri: 'file:///w/main.py', languageId: 'python' },
    [
      { uri: 'file:///w/main.py', languageId: 'python', text: 'self', focusLine: 0, lastUsed: 9 },
      { uri: 'file:///w/old.py', languageId: 'python', text: lines('old'), focusLine: 50, lastUsed: 1 },
      { uri: 'file:///w/new.py', languageId: 'python', text: lines('new'), focusLine: 80, lastUsed: 5 },
      { uri: 'file:///w/web.ts', languageId: 'typescript', text: lines('ts'), focusLine: 0, lastUsed: 8 },
    ],
    10_000,
  );
  const commentLines = context.trimEnd().split('\n');
  assert.ok(commentLines.every((line) => line.startsWith('#')), 'python comments');
  assert.equal(commentLines[0], '# Path: new.py');
  assert.ok(context.includes('# new80') && !context.includes('# new50\n'), 'the snippet is centred on the focus line');
  assert.ok(context.indexOf('# Path: old.py') > context.indexOf('# Path: new.py'));
  assert.ok(!context.includes('self') && !context.includes('ts0'), 'not the current document, not other languages');
  assert.equal(crossFileContext({ uri: 'file:///w/main.py', languageId: 'python' }, [], 100), '');
});
