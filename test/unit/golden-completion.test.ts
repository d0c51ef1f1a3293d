// Golden cases of the whole completion path, one file each in test/fixtures/golden/ (format: its README.md). Each
// fixture's document goes through CompletionService as a request at its cursor; the prompt builder tokenizes one
// token per character, so the prompt the engine receives reads back as text, and the engine replays the fixture's
// model text one character (token) at a time, stopping when the service aborts it as the real engine does. The
// prompt, the healed text and the ghost text must equal the fixture's exactly.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CompletionService, type ModelInUse } from '../../server/completion/completionService.js';
import type { CompletionEngine, CompletionGenerationParams, CompletionGenerationResult } from '../../server/completion/engine.js';
import { PromptBuilder } from '../../server/completion/prompt.js';
import { DEFAULT_SETTINGS } from '../../server/protocol.js';

const FOLDER = path.join(__dirname, '..', 'fixtures', 'golden');
const CURSOR = '█';
const SHOWN_START = '├';
const SHOWN_END = '┤';
const SECTIONS = ['document', 'prompt', 'model', 'shown'] as const;
const FIM = { prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>' };
const FIM_END_OF_TEXT = '<EOT>';
const MARKER_IDS = new Map([FIM.prefix, FIM.suffix, FIM.middle].map((marker, i) => [marker, -1 - i]));

interface GoldenCase {
  language: string;
  healed: string;
  /** Set for a case the code still gets wrong: it runs as a todo, reported but not failing the suite. */
  knownWrong: string | undefined;
  document: string;
  prompt: string;
  model: string;
  shown: string;
}

function parseCase(file: string): GoldenCase {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.replace(/\n$/, '').split('\n');
  const header = new Map<string, string>();
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of lines) {
    const section = /^=== (\w+)$/.exec(line);
    if (section !== null) sections.set(section[1], (current = []));
    else if (current !== null) current.push(line);
    else if (line !== '' && !line.startsWith('#')) {
      const field = /^([\w-]+): (.*)$/.exec(line);
      if (field === null) throw new Error(`${file}: header line "${line}" is neither "# comment" nor "key: value"`);
      header.set(field[1], field[2]);
    }
  }
  const sectionText = (name: string): string => {
    const body = sections.get(name);
    if (body === undefined) throw new Error(`${file}: no "=== ${name}" section`);
    return body.join('\n').replaceAll('␍', '\r');
  };
  const field = (name: string): string => {
    const value = header.get(name);
    if (value === undefined) throw new Error(`${file}: no "${name}:" header line`);
    return value;
  };
  const unknown = [...sections.keys()].filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`${file}: unknown sections ${unknown.join(', ')}`);
  return {
    language: field('language'),
    healed: JSON.parse(field('healed')) as string,
    knownWrong: header.get('known-wrong'),
    document: sectionText('document'),
    prompt: sectionText('prompt'),
    model: sectionText('model'),
    shown: sectionText('shown'),
  };
}

/** `text` split at each of `marks`, which must each occur once, in this order. */
function splitAt(text: string, ...marks: string[]): string[] {
  const parts: string[] = [];
  let rest = text;
  for (const mark of marks) {
    const pieces = rest.split(mark);
    assert.equal(pieces.length, 2, `one ${mark} expected`);
    parts.push(pieces[0]);
    rest = pieces[1];
  }
  return [...parts, rest];
}

const tokenize = (text: string): Promise<number[]> => {
  const marker = MARKER_IDS.get(text);
  return Promise.resolve(marker !== undefined ? [marker] : [...text].map((ch) => ch.codePointAt(0) ?? 0));
};

const markerText = new Map([...MARKER_IDS].map(([marker, id]) => [id, marker]));
const detokenize = (tokens: number[]): string => tokens.map((t) => markerText.get(t) ?? String.fromCodePoint(t)).join('');

/** Replays `text` as the model's output, one character a token, and keeps the prompt and parameters it was given. */
class ReplayEngine implements CompletionEngine {
  prompt: number[] | null = null;
  params: Partial<CompletionGenerationParams> | null = null;

  constructor(private readonly text: string) {}

  async generate(
    prompt: number[],
    params: Partial<CompletionGenerationParams>,
    options: { signal?: AbortSignal; onText?: (delta: string, tokens: number[]) => void },
  ): Promise<CompletionGenerationResult> {
    this.prompt = prompt;
    this.params = params;
    const tokens: number[] = [];
    for (const ch of this.text) {
      await Promise.resolve();
      if (options.signal?.aborted) return this.result(tokens, 'cancelled');
      const token = ch.codePointAt(0) ?? 0;
      tokens.push(token);
      options.onText?.(ch, [token]);
    }
    return this.result(tokens, 'end-of-text');
  }

  private result(tokens: number[], stopReason: string): CompletionGenerationResult {
    const stats = {
      promptTokens: this.prompt?.length ?? 0, promptCacheHitTokens: 0, timeToFirstTokenMs: 1, tokensPerSecond: 100,
      generatedTokens: tokens.length, drafted: 0, accepted: 0, acceptanceRate: 0, totalMs: 1, estimatedSpeedup: 1,
      exitLayer: 0, draftLength: 0, device: 'replay',
    };
    return { tokens, text: detokenize(tokens), stopReason, stats };
  }

  tokenize(text: string): Promise<number[]> {
    return tokenize(text);
  }

  async dispose(): Promise<void> {}
}

async function check(golden: GoldenCase): Promise<void> {
  const [beforeCursor, afterCursor] = splitAt(golden.document, CURSOR);
  const [beforeShown, shown, afterShown] = splitAt(golden.shown, SHOWN_START, SHOWN_END);
  assert.equal(beforeShown + afterShown, beforeCursor + afterCursor, 'the shown section is the document with the suggestion at the cursor');
  const engine = new ReplayEngine(golden.model);
  const model: ModelInUse = {
    engine,
    prompts: new PromptBuilder(tokenize, FIM),
    decoding: { mode: 'full', exitLayer: 1, draftLength: 1 },
    fimEndOfText: FIM_END_OF_TEXT,
    name: 'replay',
    fullTokensPerSecond: null,
  };
  const request = { uri: 'file:///golden', languageId: golden.language, text: beforeCursor + afterCursor, offset: beforeCursor.length, context: '' };
  // room for every character of the model text: where generation stops is the stop rules' business here
  const settings = { ...DEFAULT_SETTINGS, maxNewTokens: 10_000 };
  const outcome = await new CompletionService().complete(request, model, settings, new AbortController().signal, () => undefined);
  assert.equal(detokenize(engine.prompt ?? []), golden.prompt, 'prompt');
  assert.equal(engine.params?.healedText, golden.healed, 'healed text');
  assert.equal(outcome.text, shown, 'ghost text');
}

for (const name of fs.readdirSync(FOLDER).filter((file) => file.endsWith('.txt')).sort()) {
  const golden = parseCase(path.join(FOLDER, name));
  void test(name, { todo: golden.knownWrong }, () => check(golden));
}
