// The server under bad conditions: missing or broken model packages, huge and binary documents, a model without
// FIM tokens, a server killed mid-generation and started again. It must keep answering (with no items) and say why.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LspSession, textOf, tinyModelPackage, UNTIMED } from './lsp-harness.js';

void describe('bad settings at start', () => {
  void it('a bad value the user wrote does not cost the completions: its default is used, and the state says which', async () => {
    const session = await LspSession.start({ modelPath: await tinyModelPackage('codellama'), exitLayer: 99, ...UNTIMED });
    try {
      const state = await session.waitForPhase('ready');
      assert.equal(state.settings.exitLayer, null, 'the default');
      assert.match(state.warning ?? '', /setting was ignored \(exit layer must be an integer from 1 to 5 \(got 99\)\)/);
      await session.open('file:///w/a.ts', 'const x = ');
      await session.complete('file:///w/a.ts', { line: 0, character: 10 });
      assert.ok((session.stats.at(-1)?.generatedTokens ?? 0) > 0, 'completions work');
    } finally {
      await session.close();
    }
    // refused before any model is known (the draft length): the tunable settings start from their defaults
    const early = await LspSession.start({ modelPath: await tinyModelPackage('codellama'), draftLength: 500, ...UNTIMED });
    try {
      const state = await early.waitForPhase('ready');
      assert.equal(state.settings.draftLength, null);
      assert.match(state.warning ?? '', /setting was ignored \(draft length must be an integer from 1 to 64 \(got 500\)\)/);
    } finally {
      await early.close();
    }
  });
});

void describe('a broken model', () => {
  void it('a missing folder is an error state with the path and a way out; the server keeps answering', async () => {
    const missing = join(tmpdir(), 'layerskip-no-such-model');
    const session = await LspSession.start({ modelPath: missing });
    try {
      const state = await session.waitForPhase('error');
      assert.match(state.message, /layerskip-no-such-model/);
      assert.match(state.message, /Select Model Folder/);
      await session.open('file:///w/a.ts', 'const x = ');
      const list = await session.complete('file:///w/a.ts', { line: 0, character: 10 });
      assert.deepEqual(list.items, []);
      assert.ok(session.states.some((s) => s.phase === 'error'), 'the error was pushed as a layerskip/state notification');
      // Fixing the setting recovers without a restart.
      const fixed = await session.setSettings({ modelPath: await tinyModelPackage('codellama') });
      assert.equal(fixed.phase, 'ready');
      await session.complete('file:///w/a.ts', { line: 0, character: 10 });
      assert.ok((session.stats.at(-1)?.generatedTokens ?? 0) > 0);
    } finally {
      await session.close();
    }
  });

  void it('a folder with a corrupt manifest, no manifest or a truncated weights file is an error state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layerskip-broken-'));
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    const session = await LspSession.start({ modelPath: dir });
    try {
      assert.match((await session.waitForPhase('error')).message, /manifest\.json: not valid JSON/);
      const notAPackage = join(dir, 'empty');
      mkdirSync(notAPackage);
      const state = await session.setSettings({ modelPath: notAPackage });
      assert.equal(state.phase, 'error');
      assert.match(state.message, /no manifest\.json/);
      const truncated = join(dir, 'cut-short');
      cpSync(await tinyModelPackage('codellama'), truncated, { recursive: true });
      const weights = join(truncated, 'weights.bin');
      writeFileSync(weights, readFileSync(weights).subarray(0, 1000));
      const broken = await session.setSettings({ modelPath: truncated });
      assert.equal(broken.phase, 'error');
      assert.match(broken.message, /cut-short/);
      assert.match(broken.message, /weights\.bin is truncated \(1000 bytes; the weight table needs \d+\)/);
      await session.open('file:///w/a.ts', 'const x = ');
      assert.deepEqual((await session.complete('file:///w/a.ts', { line: 0, character: 10 })).items, []);
    } finally {
      await session.close();
    }
  });
});

void describe('bad input and other packages', () => {
  void it('huge and binary documents get no items quickly; a prefix-only package still completes', async () => {
    const session = await LspSession.start({ modelPath: await tinyModelPackage('llama3'), maxNewTokens: 16 }, true);
    try {
      assert.equal(session.capabilities.inlineCompletionProvider, undefined, 'a client with its own provider gets no second one');
      const state = await session.waitForPhase('ready');
      assert.equal(state.model?.hasFim, false, 'llama3 checkpoints have no FIM tokens');
      const huge = 'x = 1;\n'.repeat(400_000); // 2.8 MB
      await session.open('file:///w/huge.ts', huge);
      let started = performance.now();
      assert.deepEqual((await session.complete('file:///w/huge.ts', { line: 1000, character: 0 })).items, []);
      assert.ok(performance.now() - started < 2000);
      await session.open('file:///w/blob.bin', 'ELF\u0000\u0001\u0002garbage\u0000', 'plaintext');
      started = performance.now();
      assert.deepEqual((await session.complete('file:///w/blob.bin', { line: 0, character: 3 })).items, []);
      assert.ok(performance.now() - started < 2000);
      const statsBefore = session.stats.length;
      await session.open('file:///w/ok.py', 'def add(a, b):\n    return ', 'python');
      await session.complete('file:///w/ok.py', { line: 1, character: 11 });
      assert.equal(session.stats.length, statsBefore + 1, 'an ordinary document right after is completed');
      assert.ok((session.stats.at(-1)?.promptTokens ?? 0) > 0);
    } finally {
      await session.close();
    }
  });

  void it('streams partial results through $/progress, each a growing version of the suggestion', async () => {
    const session = await LspSession.start({ modelPath: await tinyModelPackage('codellama'), maxNewTokens: 200, ...UNTIMED });
    try {
      await session.waitForPhase('ready');
      // Line end inside an open block: multi-line suggestions are allowed, so lines can stream.
      const uri = 'file:///w/stream.ts';
      const text = 'function f() {\n  const a = [\n';
      await session.open(uri, text);
      const partials: string[] = [];
      const list = await session.complete(uri, { line: 2, character: 0 }, { onPartial: (items) => partials.push(textOf({ items })) });
      const final = textOf(list);
      for (const partial of partials) assert.ok(partial.length > 0);
      if (partials.length > 0) assert.ok(final.startsWith(partials[0].split('\n')[0]), 'the first streamed line is where the final suggestion starts');
      const stats = session.stats.at(-1);
      assert.ok(stats);
      if (partials.length > 0) assert.ok(stats.firstLineMs !== null && stats.firstLineMs <= stats.latencyMs);
    } finally {
      await session.close();
    }
  });
});

void describe('a dead server', () => {
  void it('killed mid-generation: the pending request fails, a new server starts and completes', async () => {
    const modelPath = await tinyModelPackage('llama3');
    const first = await LspSession.start({ modelPath, maxNewTokens: 500, ...UNTIMED });
    await first.waitForPhase('ready');
    await first.open('file:///w/a.ts', 'const data = [\n');
    const pending = first.complete('file:///w/a.ts', { line: 1, character: 0 });
    await new Promise((r) => setTimeout(r, 100));
    const failed = assert.rejects(pending, /disposed|closed/);
    await first.kill();
    await failed;
    const second = await LspSession.start({ modelPath, maxNewTokens: 16 });
    try {
      await second.waitForPhase('ready');
      await second.open('file:///w/a.ts', 'const data = [\n');
      await second.complete('file:///w/a.ts', { line: 1, character: 0 });
      assert.ok((second.stats.at(-1)?.generatedTokens ?? 0) > 0);
    } finally {
      await second.close();
    }
  });
});
