// The remote backend against a scripted OpenAI-compatible HTTP server on 127.0.0.1: streaming, stop strings, the
// request it sends, and every failure a team server can have (4xx/5xx, no answer, silence mid-stream, a dropped
// connection, a redirect), each a clear message that never holds the API key; cancellation aborts the HTTP request.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listModels, parseRemoteUrl, RemoteError, streamCompletion } from '../../server/remote/openAiApi.js';
import { loadPromptSide } from '../../server/remote/promptSide.js';
import { RemoteEngine, type PromptCodec } from '../../server/remote/remoteEngine.js';
import { generateCheckpoint } from '../support/checkpoints.js';

const KEY = 'sk-test-0123456789abcdef';
const FAST = { responseMs: 300, idleMs: 300 };

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** One character per token: prompt tokens are char codes, so the text the server gets is easy to check. */
const charCodec: PromptCodec = {
  encode: (text) => [...text].map((c) => c.codePointAt(0) ?? 0),
  decodeWithSpecialTokens: (tokens) => String.fromCodePoint(...tokens),
};

function sse(response: ServerResponse, chunks: { text: string; finish?: string }[], done = true): void {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const chunk of chunks) {
    response.write(`data: ${JSON.stringify({ choices: [{ text: chunk.text, finish_reason: chunk.finish ?? null }] })}\n\n`);
  }
  if (done) response.end('data: [DONE]\n\n');
}

void describe('remote backend (OpenAI-compatible completions)', () => {
  let server: Server;
  let handler: Handler = () => undefined;
  const seen: { path: string; auth: string | undefined; body: string }[] = [];
  let closedRequests = 0;
  let url: string;

  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen.push({ path: request.url ?? '', auth: request.headers.authorization, body });
        response.on('close', () => {
          if (!response.writableFinished) closedRequests++;
        });
        handler(request, body, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const engine = (apiKey: string | null = KEY): RemoteEngine =>
    new RemoteEngine({ endpoint: { url: parseRemoteUrl(url), apiKey }, model: 'smol', codec: charCodec, bosTokenId: 1, extraStopStrings: ['<fim_prefix>'], timeouts: FAST });

  void it('streams text through the stop strings and sends the prompt as text, greedy, with the key', async () => {
    // the continuation begins with the healed text (two spaces): the server chose to spell it, and it is not shown
    handler = (_request, _body, response) => sse(response, [{ text: ' ' }, { text: ' ret' }, { text: 'urn a;\n' }, { text: '\nnext' }, { text: '', finish: 'stop' }]);
    seen.length = 0;
    const deltas: string[] = [];
    const result = await engine().generate(
      [1, ...charCodec.encode('<fim_prefix>x<fim_suffix>')],
      { maxNewTokens: 16, stopStrings: ['\n\n'], healedText: '  ' },
      { onText: (delta) => deltas.push(delta) },
    );
    assert.equal(result.text, 'return a;');
    assert.equal(result.stopReason, 'stop-string');
    assert.equal(deltas.join(''), 'return a;', 'the streamed pieces add up to the text');
    assert.equal(result.stats.device, 'remote');
    assert.equal(result.stats.generatedTokens, 'return a;'.length);
    assert.equal(result.stats.promptTokens, '<fim_prefix>x<fim_suffix>'.length, "BOS is the server's to add");
    assert.equal(seen.length, 1);
    const request = seen[0];
    assert.equal(request.path, '/v1/completions');
    assert.equal(request.auth, `Bearer ${KEY}`);
    const body = JSON.parse(request.body) as Record<string, unknown>;
    assert.deepEqual(body, { model: 'smol', prompt: '<fim_prefix>x<fim_suffix>', max_tokens: 16, temperature: 0, stop: [], stream: true });
  });

  void it('a continuation that does not begin with the healed text is asked again with it in the prompt', async () => {
    handler = (_request, body, response) => {
      const healedInPrompt = (JSON.parse(body) as { prompt: string }).prompt.endsWith('ret');
      sse(response, healedInPrompt ? [{ text: 'urn 1;', finish: 'stop' }] : [{ text: 'if (x)', finish: 'stop' }]);
    };
    seen.length = 0;
    const deltas: string[] = [];
    const result = await engine().generate(charCodec.encode('f() { '), { stopStrings: ['\n\n'], healedText: 'ret' }, { onText: (delta) => deltas.push(delta) });
    assert.equal(result.text, 'urn 1;');
    assert.deepEqual(deltas, ['urn 1;'], 'nothing of the dropped continuation was shown');
    assert.deepEqual(seen.map((request) => (JSON.parse(request.body) as { prompt: string; stop: string[] }).prompt), ['f() { ', 'f() { ret']);
    assert.deepEqual((JSON.parse(seen[1].body) as { stop: string[] }).stop, ['\n\n', '<fim_prefix>'], 'the server applies the stop strings itself');
  });

  void it("ends at the server's end of text and keeps text split across events whole", async () => {
    handler = (_request, _body, response) => sse(response, [{ text: 'a<fim_' }, { text: 'b' }, { text: 'c', finish: 'stop' }]);
    const result = await engine(null).generate([5], { stopStrings: [] }, {});
    assert.equal(result.text, 'a<fim_bc', 'a partial marker that did not complete is text');
    assert.equal(result.stopReason, 'eos');
    assert.equal(seen.at(-1)?.auth, undefined, 'no key, no Authorization header');
  });

  void it('reads a server that answers the whole completion at once (no event stream)', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ choices: [{ text: 'whole', finish_reason: 'length' }] }));
    };
    const result = await engine().generate([5], {}, {});
    assert.equal(result.text, 'whole');
    assert.equal(result.stopReason, 'max-tokens');
  });

  void it('cancellation aborts the HTTP request mid-stream and resolves as cancelled', async () => {
    const before = closedRequests;
    handler = (_request, _body, response) => sse(response, [{ text: 'first ' }], false); // then nothing: a slow model
    const controller = new AbortController();
    const result = await engine().generate([5], {}, {
      signal: controller.signal,
      onText: () => controller.abort(),
    });
    assert.equal(result.stopReason, 'cancelled');
    assert.equal(result.text, 'first ');
    await waitFor(() => closedRequests > before, 'the server saw the request closed');
  });

  void it('the time budget ends a slow generation with what came so far', async () => {
    handler = (_request, _body, response) => sse(response, [{ text: 'partial' }], false);
    const result = await engine().generate([5], { timeBudgetMs: 100 }, {});
    assert.equal(result.stopReason, 'time-budget');
    assert.equal(result.text, 'partial');
  });

  const failures: [string, Handler, RegExp][] = [
    [
      'a 5xx with an OpenAI error body',
      (_q, _b, response) => {
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'model is loading', type: 'server_error' } }));
      },
      /answered 503 Service Unavailable: model is loading/,
    ],
    [
      'a refused key',
      (_q, _b, response) => {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ detail: 'invalid api key' }));
      },
      /answered 401 Unauthorized: invalid api key \(check the API key: LayerSkip: Set Remote API Key\)/,
    ],
    ['no answer at all', () => undefined, /did not answer within 0\.3 s: timed out/],
    ['silence mid-stream', (_q, _b, response) => sse(response, [{ text: 'x' }], false), /sent nothing for 0\.3 s: timed out/],
    [
      'a connection dropped mid-stream',
      (_q, _b, response) => {
        sse(response, [{ text: 'x' }], false);
        setTimeout(() => response.socket?.destroy(), 20);
      },
      /stream .* broke|closed the stream before the completion ended/,
    ],
    [
      'an error event mid-stream',
      (_q, _b, response) => {
        sse(response, [{ text: 'x' }], false);
        response.end(`data: ${JSON.stringify({ error: { message: 'context overflow' } })}\n\n`);
      },
      /failed mid-stream: context overflow/,
    ],
    [
      'a redirect elsewhere',
      (_q, _b, response) => {
        response.writeHead(302, { location: 'http://example.com/v1/completions' });
        response.end();
      },
      /redirected elsewhere; requests go to the configured URL only/,
    ],
  ];
  for (const [name, failure, message] of failures) {
    void it(`fails clearly on ${name}, without the key in the message`, async () => {
      handler = failure;
      const error = await engine().generate([5], {}, {}).then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof RemoteError, String(error));
      assert.match(error.message, message);
      assert.ok(!error.message.includes(KEY), 'the key is never in a message');
    });
  }

  void it('nothing listening: connection refused', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const endpoint = { url: parseRemoteUrl(`http://127.0.0.1:${port}/v1`), apiKey: null };
    await assert.rejects(listModels(endpoint, new AbortController().signal, FAST), /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/models: connection refused/);
  });

  void it('lists the served models; a server without /models answers null', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ object: 'list', data: [{ id: 'smol' }, { id: 'big' }] }));
    };
    const endpoint = { url: parseRemoteUrl(url), apiKey: null };
    assert.deepEqual(await listModels(endpoint, new AbortController().signal, FAST), ['smol', 'big']);
    handler = (_request, _body, response) => {
      response.writeHead(404);
      response.end();
    };
    assert.equal(await listModels(endpoint, new AbortController().signal, FAST), null);
  });

  void it('a stream aborted before the server answers ends quietly', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    controller.abort();
    const chunks = [];
    for await (const chunk of streamCompletion({ url: parseRemoteUrl(url), apiKey: null }, { model: null, prompt: 'x', max_tokens: 1, temperature: 0, stop: [] }, controller.signal, FAST)) {
      chunks.push(chunk);
    }
    assert.deepEqual(chunks, []);
  });

  void it('refuses URLs that are not plain http(s) endpoints', () => {
    assert.throws(() => parseRemoteUrl('localhost:8080'), /http or https|not a URL/);
    assert.throws(() => parseRemoteUrl('ftp://host/v1'), /must be http or https/);
    assert.throws(() => parseRemoteUrl('http://user:secret@host/v1'), /must not hold credentials/);
    assert.equal(parseRemoteUrl(' http://host:8080/v1/ ').href, 'http://host:8080/v1');
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), what);
}

void describe('the prompt side of a remote model', () => {
  void it("a Hugging Face folder's tokenizer files are enough (no weights): FIM markers, layers from config.json", async () => {
    const checkpoint = generateCheckpoint({ family: 'codellama', numLayers: 3, hiddenSize: 32 });
    for (const file of readdirSync(checkpoint.dir).filter((name) => name.endsWith('.safetensors'))) rmSync(join(checkpoint.dir, file));
    const side = await loadPromptSide(checkpoint.dir);
    assert.equal(side.numLayers, 3);
    assert.equal(side.bosTokenId, null, "BOS is the server's to add");
    assert.ok(side.fim !== null, 'CodeLlama infilling tokens found');
    const text = `${side.fim.prefix} def f():${side.fim.suffix}`;
    assert.equal(side.codec.decodeWithSpecialTokens(side.codec.encode(text)), text, 'the prompt goes out with its markers spelled out');
    await assert.rejects(loadPromptSide(mkdtempSync(join(tmpdir(), 'empty-'))), /neither a model package \(manifest\.json\) nor a Hugging Face model folder with a tokenizer\.json/);
  });
});
