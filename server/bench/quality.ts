// `npm run bench:quality [-- --model DIR] [--positions N] [--seed S] [--out FILE]`
// Completion quality on real code, with and without token healing: the cursor is put at N random places in this
// repository's own TypeScript sources (most of them inside a word, as while typing), the prompt is built by the
// server's prompt builder (prefix window, FIM when the package has it), the full model completes the rest of the line
// greedily, and the result is compared with what the file really has there: the share of exact lines and of
// characters matching before the first difference. Not a timed test. Needs a model package (default: the bundled one).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { PromptBuilder } from '../completion/prompt.js';
import type { Engine } from '../engine/engine.js';
import { loadPackageEngine } from '../engine/loadPackage.js';
import type { Manifest } from '../model/manifest.js';
import { DEFAULT_MODEL_DIR, DEFAULT_SETTINGS } from '../protocol.js';

const ROOT = join(__dirname, '..');
const SOURCE_DIRS = ['server', 'extension'];

interface Position {
  file: string;
  prefix: string;
  suffix: string;
  /** The rest of the cursor's line in the file: what a perfect suggestion shows. */
  expected: string;
}

interface Score {
  exactLines: number;
  matchedCharacters: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Random cursor positions whose line goes on with some code. */
function positions(count: number, seed: number): Position[] {
  const files = SOURCE_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir))).sort();
  const random = seededRandom(seed);
  const picked: Position[] = [];
  while (picked.length < count) {
    const file = files[Math.floor(random() * files.length)];
    const text = readFileSync(file, 'utf8');
    const offset = Math.floor(text.length * (0.1 + 0.9 * random()));
    const lineEnd = text.indexOf('\n', offset);
    const expected = text.slice(offset, lineEnd < 0 ? text.length : lineEnd).trimEnd();
    if (expected.trim() === '') continue;
    picked.push({ file: relative(ROOT, file), prefix: text.slice(0, offset), suffix: text.slice(offset), expected });
  }
  return picked;
}

async function completeLine(engine: Engine, prompts: PromptBuilder, position: Position, stop: string | null): Promise<string> {
  const { tokens, healedText } = await prompts.build(
    { uri: position.file, prefix: position.prefix, suffix: position.suffix, context: '' },
    { prefixTokens: DEFAULT_SETTINGS.prefixTokens, suffixTokens: DEFAULT_SETTINGS.suffixTokens },
  );
  const stopStrings = stop === null ? ['\n'] : ['\n', stop];
  const result = await engine.generate(tokens, { mode: 'full', maxNewTokens: 48, stopStrings, healedText });
  return result.text.trimEnd();
}

function matchedCharacters(suggestion: string, expected: string): number {
  let n = 0;
  while (n < suggestion.length && n < expected.length && suggestion[n] === expected[n]) n++;
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: join(ROOT, DEFAULT_MODEL_DIR) },
      positions: { type: 'string', default: '150' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string', default: 'bench-quality.json' },
    },
  });
  const engine = await loadPackageEngine(values.model);
  const info = engine.info();
  const fim = (info.manifest as Manifest).tokenizer.fim;
  const tokenize = (text: string): Promise<number[]> => Promise.resolve(engine.tokenize(text));
  const variants = [
    { label: 'without token healing', prompts: new PromptBuilder(tokenize, fim, info.config.bosTokenId, false) },
    { label: 'with token healing', prompts: new PromptBuilder(tokenize, fim, info.config.bosTokenId, true) },
  ];
  const cases = positions(Number(values.positions), Number(values.seed));
  const expectedCharacters = cases.reduce((sum, c) => sum + c.expected.length, 0);
  const scores: Score[] = variants.map(() => ({ exactLines: 0, matchedCharacters: 0 }));
  const samples: { file: string; before: string; expected: string; suggestions: string[] }[] = [];
  for (const [i, position] of cases.entries()) {
    const suggestions: string[] = [];
    for (const [v, variant] of variants.entries()) {
      const suggestion = await completeLine(engine, variant.prompts, position, fim?.eot ?? null);
      suggestions.push(suggestion);
      if (suggestion === position.expected) scores[v].exactLines++;
      scores[v].matchedCharacters += matchedCharacters(suggestion, position.expected);
    }
    if (i < 12) samples.push({ file: position.file, before: position.prefix.slice(-40), expected: position.expected, suggestions });
  }
  await engine.dispose();

  const rows = variants.map((variant, v) => ({
    variant: variant.label,
    exactLineShare: scores[v].exactLines / cases.length,
    matchedCharacterShare: scores[v].matchedCharacters / expectedCharacters,
  }));
  const report = { model: values.model, positions: cases.length, seed: Number(values.seed), expectedCharacters, rows, samples };
  writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(
    [
      `completion quality: ${cases.length} random cursor positions in this repository's TypeScript (seed ${values.seed}), ` +
        `${values.model}, full model, greedy, rest of the line (${expectedCharacters} characters in all)`,
      '| variant | exact lines | characters matched |',
      '|---|---|---|',
      ...rows.map((r) => `| ${r.variant} | ${(100 * r.exactLineShare).toFixed(1)}% | ${(100 * r.matchedCharacterShare).toFixed(1)}% |`),
      `written to ${values.out}`,
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:quality: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
