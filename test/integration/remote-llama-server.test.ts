// The remote backend against a real engine: llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on
// 127.0.0.1 serving the bundled model's original GGUF, reached through the real LSP server over stdio. Completions,
// an API key, a wrong model name, cancellation mid-stream, and the engine killed and started again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from 'vscode-languageserver-protocol/node';
import { GetStateRequest, SetRemoteApiKeyRequest, type ServerState } from '../../server/protocol.js';
import { BUNDLED_GGUF, startLlamaServer, type LlamaServer } from '../support/llamaServer.js';
import { LspSession, textOf, UNTIMED } from './lsp-harness.js';

const ALIAS = 'smollm2';
const KEY = 'team-key-6f1d2c';
const FIB = 'def fibonacci(n):\n    if n < 2:\n        return n\n    return ';

void describe('completions from llama.cpp\'s server (layerskip.remoteUrl)', () => {
  let llama: LlamaServer;
  let session: LspSession;

  before(async () => {
    llama = await startLlamaServer({ gguf: BUNDLED_GGUF, alias: ALIAS, apiKey: KEY });
    session = await LspSession.start({ remoteUrl: llama.url, remoteModel: ALIAS, maxNewTokens: 24, ...UNTIMED }, false, undefined, KEY);
  });
  after(async () => {
    await session?.close();
    await llama?.stop();
  });

  const state = (): Promise<ServerState> => session.request(GetStateRequest, null);

  void it('opens the remote model (no local weights) and completes from it through the LSP server', async () => {
    const ready = await session.waitForPhase('ready');
    assert.equal(ready.model?.device, 'remote');
    assert.equal(ready.model?.name, ALIAS);
    assert.equal(ready.operatingPoint?.source, 'remote');
    assert.match(ready.message, /remote server http:\/\/127\.0\.0\.1:\d+\/v1/);
    await session.open('file:///w/fib.py', `${FIB}\n\nprint(fibonacci(10))\n`, 'python');
    const partials: string[] = [];
    const list = await session.complete('file:///w/fib.py', { line: 3, character: 11 }, { onPartial: (items) => partials.push(items[0]?.insertText as string) });
    const text = textOf(list);
    // The oracle: llama.cpp's own greedy continuation of the prompt, asked directly (no streaming, no LSP). The
    // bundled package has no FIM tokens, so the prompt is the prefix; token healing held back the trailing space,
    // which the continuation begins with; the suggestion is its first line.
    const direct = await fetch(`${llama.url}/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ prompt: FIB.trimEnd(), max_tokens: 24, temperature: 0 }),
    }).then((response) => response.json() as Promise<{ choices: { text: string }[] }>);
    const expected = direct.choices[0].text;
    assert.ok(expected.startsWith(' ') && text !== '' && expected.slice(1).startsWith(text), `got ${JSON.stringify(text)}; llama.cpp: ${JSON.stringify(expected)}`);
    assert.match(text, /fibonacci\(n/);
    assert.ok(partials.length >= 1 && partials.every((p) => text.startsWith(p)), 'streamed partial results grow into the answer');
    const stats = session.stats.at(-1);
    assert.equal(stats?.device, 'remote');
    assert.ok(stats !== undefined && stats.generatedTokens > 0 && stats.latencyMs >= stats.timeToFirstTokenMs);
    assert.ok(!llama.log().includes('401'), 'the key was accepted');
    assert.ok(!session.stderr.includes(KEY), 'the key is not logged');
  });

  void it('a refused key is a clear error; the right key (sent apart from the settings) brings it back', async () => {
    await session.request(SetRemoteApiKeyRequest, { apiKey: 'wrong-key' });
    const refused = await state();
    assert.equal(refused.phase, 'error');
    assert.match(refused.message, /401.*Set Remote API Key/);
    assert.ok(!refused.message.includes('wrong-key'));
    await session.request(SetRemoteApiKeyRequest, { apiKey: KEY });
    assert.equal((await state()).phase, 'ready');
  });

  void it('a wrong model name is refused with the names the server serves', async () => {
    const wrong = await session.setSettings({ remoteModel: 'no-such-model' });
    assert.equal(wrong.phase, 'error');
    assert.match(wrong.message, /does not serve the model "no-such-model".*it serves: smollm2/);
    assert.equal((await session.setSettings({ remoteModel: ALIAS })).phase, 'ready');
  });

  void it('cancelling mid-stream aborts the request; the next completion is answered', async () => {
    await session.setSettings({ maxNewTokens: 400 });
    const uri = 'file:///w/long.py';
    await session.open(uri, '# a list of the first 300 prime numbers, one per line\nPRIMES = [\n', 'python');
    const cancel = new CancellationTokenSource();
    const cancelled = session.complete(uri, { line: 2, character: 0 }, { cancel, onPartial: () => cancel.cancel() });
    await assert.rejects(cancelled, (error: unknown) => error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled);
    await session.setSettings({ maxNewTokens: 24 });
    await session.open('file:///w/fib2.py', FIB, 'python');
    const next = textOf(await session.complete('file:///w/fib2.py', { line: 3, character: 11 }));
    assert.match(next, /fibonacci\(n/);
  });

  void it('the engine killed: no suggestion and a clear warning, the server keeps answering; started again, it completes again', async () => {
    await llama.stop();
    const uri = 'file:///w/fib3.py';
    await session.open(uri, FIB, 'python');
    const none = await session.complete(uri, { line: 3, character: 11 });
    assert.deepEqual(none.items, []);
    const warned = await state();
    assert.equal(warned.phase, 'ready', 'the model stays configured; only this request failed');
    assert.match(warned.warning ?? '', /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/completions: connection refused/);
    llama = await startLlamaServer({ gguf: BUNDLED_GGUF, alias: ALIAS, apiKey: KEY, port: llama.port });
    const again = textOf(await session.complete(uri, { line: 3, character: 11 }));
    assert.match(again, /fibonacci\(n/);
    assert.equal((await state()).warning, null, 'the warning goes with the next completion that worked');
  });
});
