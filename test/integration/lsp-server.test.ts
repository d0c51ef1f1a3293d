// The real server over stdio: completions, streaming, cancellation mid-generation, settings, bad models, bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, ErrorCodes, ResponseError } from 'vscode-languageserver-protocol/node';
import { LspSession, textOf, tinyModelPackage, UNTIMED } from './lsp-harness.js';

const SOURCE = [
  'function add(a: number, b: number): number {',
  '  return a + b;',
  '}',
  '',
  'function main() {',
  '  const total = add(1, 2);',
  '  console.log(total);',
  '}',
  '',
].join('\n');

void describe('completions from a FIM model package', () => {
  let session: LspSession;
  before(async () => {
    session = await LspSession.start({ modelPath: await tinyModelPackage('codellama'), maxNewTokens: 24, ...UNTIMED });
  });
  after(async () => {
    assert.equal(await session.close(), 0, 'the server exits cleanly on shutdown + exit');
  });

  void it('loads the package, reports its layers and FIM tokens, and answers inlineCompletion', async () => {
    const state = await session.waitForPhase('ready');
    assert.equal(state.model?.numLayers, 6);
    assert.equal(state.model?.hasFim, true);
    assert.equal(session.capabilities.inlineCompletionProvider, true, 'advertised to ordinary LSP clients');
    await session.open('file:///w/a.ts', SOURCE);
    const list = await session.complete('file:///w/a.ts', { line: 5, character: 16 });
    const stats = session.stats.at(-1);
    assert.ok(stats, 'a stats notification follows every completion that ran the model');
    assert.ok(stats.generatedTokens > 0);
    assert.equal(stats.exitLayer, state.model?.recommendedExitLayer);
    assert.equal(stats.mode, 'self-speculative');
    assert.equal(stats.delivered, list.items.length > 0);
    assert.ok(stats.drafted > 0, 'self-speculative decoding drafted tokens');
    assert.ok(stats.estimatedSpeedup > 0 && stats.speedup !== null && stats.speedup > 0, 'speedups reported');
    assert.ok(stats.latencyMs >= stats.timeToFirstTokenMs);
    for (const item of list.items) {
      assert.ok(!textOf({ items: [item] }).includes('\n'), 'text follows the cursor: one line only');
      assert.deepEqual(item.range, { start: { line: 5, character: 16 }, end: { line: 5, character: 16 } });
    }
    assert.deepEqual(session.generating.slice(-2), [true, false], 'generating on, then off');
  });

  void it('prepares the next suggestion while one is shown: accepting it gets the next at once', async () => {
    await session.waitForPhase('ready');
    const uri = 'file:///w/lookahead.ts';
    const text = 'function f() {\n  const xs = [\n';
    await session.open(uri, text);
    const first = textOf(await session.complete(uri, { line: 2, character: 0 }));
    assert.ok(first !== '', 'the model suggested something to accept');
    assert.equal(session.stats.at(-1)?.lookAhead, false);
    // Accept it: insert the suggestion, then ask at its end, as VS Code does after Tab.
    await session.insert(uri, { line: 2, character: 0 }, first);
    const lines = (text + first).split('\n');
    await new Promise((r) => setTimeout(r, 300)); // the time a person takes to press Tab
    await session.complete(uri, { line: lines.length - 1, character: lines[lines.length - 1].length });
    const stats = session.stats.at(-1);
    assert.equal(stats?.lookAhead, true, 'served from the look-ahead');
    assert.ok((stats?.latencyMs ?? Infinity) < 50, `latency after acceptance ${stats?.latencyMs.toFixed(1)} ms`);
    // Anything else than the accepted text (or typing that agrees with the next suggestion; a line break never does)
    // does not get it.
    await session.insert(uri, { line: lines.length - 1, character: lines[lines.length - 1].length }, '\n');
    await session.complete(uri, { line: lines.length, character: 0 });
    assert.equal(session.stats.at(-1)?.lookAhead, false);
  });

  void it("with the completion list open, the suggestion extends its selected entry: as if the entry were accepted", async () => {
    await session.waitForPhase('ready');
    const uri = 'file:///w/selected.ts';
    const accepted = SOURCE + 'function show(xs: number[]) {\n  console.log';
    const lines = accepted.split('\n');
    const end = { line: lines.length - 1, character: lines[lines.length - 1].length };
    // the oracle: the document with the entry typed, completed the ordinary way
    await session.open(uri, accepted);
    const typed = textOf(await session.complete(uri, end));
    // the same document with "lo" typed and the list on "log" (it replaces "lo")
    await session.change(uri, accepted.slice(0, -1));
    const range = { start: { line: end.line, character: end.character - 3 }, end: { line: end.line, character: end.character - 1 } };
    const list = await session.complete(uri, range.end, { selected: { range, text: 'log' } });
    if (typed === '') {
      assert.deepEqual(list.items, [], 'no suggestion after the entry either');
      return;
    }
    assert.equal(list.items.length, 1);
    assert.deepEqual(list.items[0].range, range, "the entry's range");
    assert.equal(textOf(list), 'log' + typed, 'the entry, then what the model writes after it');
  });

  void it('fills the prompt cache where the cursor comes to rest, before anyone asks', async () => {
    await session.waitForPhase('ready');
    // two fresh documents, ~600 tokens of prompt each; the cursor rests in one of them (layerskip/cursor)
    const body = Array.from({ length: 30 }, (_, i) => `function f${i}(x: number): number {\n  return x * ${i} + ${i * 7};\n}\n`).join('');
    const cold = 'file:///w/cold.ts';
    const warmed = 'file:///w/warmed.ts';
    const position = { line: 60, character: 0 };
    await session.open(cold, body + '// cold\n' + body);
    await session.open(warmed, body + '// warm\n' + body);
    await session.cursor(warmed, position);
    await new Promise((r) => setTimeout(r, 3000)); // the user reads; the server prefills meanwhile
    await session.complete(warmed, position);
    const warm = session.stats.at(-1);
    await session.complete(cold, position);
    const coldStats = session.stats.at(-1);
    assert.ok(warm && coldStats);
    assert.ok(warm.promptCacheHitTokens >= warm.promptTokens - 8, `warmed: ${warm.promptCacheHitTokens} of ${warm.promptTokens} prompt tokens cached`);
    assert.ok(coldStats.promptCacheHitTokens < coldStats.promptTokens / 2, `not warmed: ${coldStats.promptCacheHitTokens} of ${coldStats.promptTokens} cached`);
  });

  void it('re-uses the prompt cache between keystrokes', async (t) => {
    await session.waitForPhase('ready');
    const uri = 'file:///w/typing.ts';
    let text = SOURCE + 'function sum(xs: number[]) {\n  ';
    await session.open(uri, text);
    const hits: number[] = [];
    for (const ch of 'let s') {
      await session.insert(uri, { line: 10, character: text.length - text.lastIndexOf('\n') - 1 }, ch);
      text += ch;
      await session.complete(uri, { line: 10, character: text.length - text.lastIndexOf('\n') - 1 });
      const stats = session.stats.at(-1);
      assert.ok(stats);
      hits.push(stats.promptCacheHitTokens / stats.promptTokens);
    }
    t.diagnostic(`prompt-cache hit shares per keystroke: ${hits.map((h) => h.toFixed(2)).join(', ')}`);
    assert.ok(hits.slice(1).every((share) => share > 0.8), `prompt-cache hit shares ${hits.map((h) => h.toFixed(2)).join(', ')}`);
  });

  void it('applies settings without a restart: the next completion uses the new exit layer', async () => {
    const state = await session.setSettings({ exitLayer: 2, draftLength: 3 });
    assert.equal(state.settings.exitLayer, 2);
    assert.equal(state.phase, 'ready');
    await session.complete('file:///w/a.ts', { line: 6, character: 2 });
    const stats = session.stats.at(-1);
    assert.equal(stats?.exitLayer, 2);
    assert.equal(stats?.draftLength, 3);
    await session.setSettings({ mode: 'full' });
    await session.complete('file:///w/a.ts', { line: 6, character: 2 });
    assert.equal(session.stats.at(-1)?.mode, 'full');
    assert.equal(session.stats.at(-1)?.drafted, 0);
    await session.setSettings({ mode: 'self-speculative', exitLayer: null, draftLength: null });
  });

  void it('rejects an exit layer the model does not have, with a clear error, and keeps working', async () => {
    await assert.rejects(session.setSettings({ exitLayer: 6 }), (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, ErrorCodes.InvalidParams);
      assert.match(error.message, /exit layer must be an integer from 1 to 5/);
      return true;
    });
    assert.equal((await session.waitForPhase('ready')).settings.exitLayer, null);
  });

  // The request is answered at once; the engine itself runs on for completionRules.adoptionGraceMs (the next keystroke's request
  // may adopt it: server/completion/inFlightGeneration.ts) and is aborted then, or at once by a request that does not.
  void it('answers a cancelled request at once and shows it as no longer generating', async (t) => {
    await session.setSettings({ maxNewTokens: 500 });
    const uri = 'file:///w/long.ts';
    await session.open(uri, 'const data = [\n');
    const position = { line: 1, character: 0 };
    // Uncancelled first, to know how long this generation runs.
    let started = performance.now();
    await session.complete(uri, position);
    const fullMs = performance.now() - started;
    const fullTokens = session.stats.at(-1)?.generatedTokens ?? 0;
    const statsBefore = session.stats.length;
    const cancel = new CancellationTokenSource();
    started = performance.now();
    const pending = session.complete(uri, position, { cancel });
    setTimeout(() => cancel.cancel(), 40);
    await assert.rejects(pending, (error: unknown) => error instanceof ResponseError && error.code === -32800);
    const cancelledMs = performance.now() - started;
    // The server answers $/cancelRequest; then the generating flag (requests being served) drops.
    const stopDeadline = Date.now() + 2000;
    while (session.generating.at(-1) !== false && Date.now() < stopDeadline) await new Promise((r) => setTimeout(r, 5));
    const stoppedMs = performance.now() - started;
    t.diagnostic(`uncancelled ${fullMs.toFixed(0)} ms / ${fullTokens} tokens; cancelled at 40 ms: answered at ${cancelledMs.toFixed(0)} ms, generating flag dropped at ${stoppedMs.toFixed(0)} ms`);
    // long enough that the cancel at 40 ms comes well before its end (this machine ran it in 200-400 ms)
    assert.ok(fullMs > 150, `the uncancelled generation is long enough to cancel (${fullMs.toFixed(0)} ms, ${fullTokens} tokens)`);
    assert.ok(stoppedMs < 40 + 200, `generating flag dropped ${stoppedMs.toFixed(0)} ms after the request (cancel at 40 ms; uncancelled ${fullMs.toFixed(0)} ms)`);
    assert.ok(cancelledMs < 40 + 200);
    assert.equal(session.stats.length, statsBefore, 'a cancelled completion reports no stats');
    await session.setSettings({ maxNewTokens: 24 });
    await session.complete('file:///w/a.ts', { line: 5, character: 16 });
    assert.equal(session.stats.length, statsBefore + 1, 'the next request runs normally');
  });
});
