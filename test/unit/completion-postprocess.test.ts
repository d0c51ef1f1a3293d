// Golden cases for the post-processing pipeline: the document shows the cursor as ║, `model` is what the model
// generated, `shown` is what the user must see ('' = no suggestion).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cursorContext } from '../../server/completion/cursorContext.js';
import { postprocess } from '../../server/completion/postprocess/index.js';

interface Case {
  name: string;
  document: string;
  model: string;
  shown: string;
  languageId?: string;
}

const cases: Case[] = [
  {
    name: 'mid-line suggestions are cut to one line',
    document: 'const x = foo(║, c);\n',
    model: 'a, b\nconst y = 2;',
    shown: 'a, b',
  },
  {
    name: 'a duplicated closing suffix is trimmed',
    document: 'const x = foo(║);\n',
    model: 'a, b);',
    shown: 'a, b',
  },
  {
    name: 'only the closing bracket of the suffix is duplicated',
    document: 'call(║)\n',
    model: 'x, y)',
    shown: 'x, y',
  },
  {
    name: 'multi-line at line end stops where the block closes',
    document: 'function f() {\n  if (x) {║\n}\n',
    model: '\n    doIt();\n  }\n  return 1;\n}',
    shown: '\n    doIt();\n  }',
  },
  {
    name: 'python block ends before the dedented def',
    document: 'def f():║\n',
    model: '\n    return 1\n\ndef g():\n    pass',
    shown: '\n    return 1',
    languageId: 'python',
  },
  {
    name: 'a statement line does not run out of its scope',
    document: 'function f() {\n  foo();║\n}\n',
    model: '\n  bar();\n}\n\nfunction g() {',
    shown: '\n  bar();',
  },
  {
    name: 'a suggestion that only repeats the next line is dropped',
    document: 'let a = 1;\n║\nlet b = 2;\n',
    model: 'let b = 2;',
    shown: '',
  },
  {
    name: 'a multi-line suggestion is cut where it reaches the existing next line',
    document: 'let a = 1;\nlet b = ║\nreturn a + b;\n',
    model: 'a * 2;\nreturn a + b;\n',
    shown: 'a * 2;',
  },
  {
    name: 'repeated lines are kept once',
    document: 'x = [\n║',
    model: '  1, 2, 3,\n  1, 2, 3,\n  1, 2, 3,',
    shown: '  1, 2, 3,',
  },
  {
    name: 'a looping tail inside a line is kept once',
    document: 'const s = ║',
    model: '"abc" + foo foo foo foo foo',
    shown: '"abc" + foo',
  },
  {
    name: 'a mismatched closing bracket cuts the suggestion',
    document: 'const v = a[foo(║',
    model: '1]);',
    shown: '1',
  },
  {
    name: 'brackets inside strings are ignored',
    document: 'print(║',
    model: '"(]")',
    shown: '"(]")',
  },
  {
    name: 'whitespace-only suggestions are dropped',
    document: 'let a = 1;║',
    model: '\n\n   ',
    shown: '',
  },
  {
    name: "line breaks become '\\n', a lone '\\r' included (mid-line: cut at it)",
    document: 'function f() {\r\n  g(║)\r\n',
    model: 'a\rb',
    shown: 'a',
  },
  {
    name: 'CRLF in a multi-line suggestion is inserted as the document line ending',
    document: 'function f() {\r\n  if (x) {║\r\n}\r\n',
    model: '\r\n    doIt();\r\n  }\r\n  return 1;',
    shown: '\n    doIt();\n  }',
  },
  {
    name: 'an ordinary single-line suggestion passes unchanged',
    document: 'const total = ║',
    model: 'items.reduce((a, b) => a + b, 0);',
    shown: 'items.reduce((a, b) => a + b, 0);',
  },
];

for (const c of cases) {
  void test(c.name, () => {
    const offset = c.document.indexOf('║');
    const text = c.document.replace('║', '');
    assert.equal(postprocess(c.model, cursorContext(text, offset, c.languageId ?? 'typescript')), c.shown);
  });
}
