// Orchestration of one completion (CompletionService, including a request taking over the generation in flight) and
// of the model's lifecycle (ModelHost), against a scripted engine: it replays given text chunk by chunk and honours
// the abort signal like the real engine (one step late at most). The real engine and server are exercised end to end
// in test/integration/lsp-*.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompletionService, type CompletionOutcome, type ModelInUse } from '../../server/completion/completionService.js';
import type { CompletionEngine, CompletionGenerationParams, CompletionGenerationResult, Decoding } from '../../server/completion/engine.js';
import { ModelHost, type ModelSource, type OpenedModel } from '../../server/completion/modelHost.js';
import { StopStringFilter } from '../../server/engine/stopStringFilter.js';
import { PromptBuilder } from '../../server/completion/prompt.js';
import { completionRules } from '../../server/completion/rules.js';
import { DEFAULT_SETTINGS, type ServerState } from '../../server/protocol.js';
import { fakeCalibrationTarget, noCalibrations } from './calibration-fixtures.js';

/** Replays `chunks` on its first call and `laterChunks` on the others; an Error in them is thrown there. */
/**
 * A deterministic "model": a fresh generation replays its script (the first call `chunks`, later ones `laterChunks`)
 * one chunk a step, chunk i being token SCRIPTED_TOKEN + i; a prompt that ends with such tokens (a paused generation
 * resumed) continues the script after them, as a real model continues its own tokens.
 */
class ScriptedEngine implements CompletionEngine {
  readonly calls: { params: Partial<CompletionGenerationParams>; aborted: boolean; chunksSent: number; resumedAt: number | null }[] = [];
  /** Most generations running at once (the service must keep it at 1). */
  maxRunning = 0;
  private running = 0;
  private script: (string | Error)[] = [];
  constructor(
    private readonly chunks: (string | Error)[],
    private readonly stepMs = 5,
    private readonly laterChunks = chunks,
  ) {}

  async generate(
    prompt: number[],
    params: Partial<CompletionGenerationParams>,
    options: { signal?: AbortSignal; onText?: (delta: string, tokens: number[]) => void },
  ): Promise<CompletionGenerationResult> {
    const last = prompt.at(-1) ?? 0;
    const resumedAt = last >= SCRIPTED_TOKEN ? last - SCRIPTED_TOKEN + 1 : null;
    if (resumedAt === null) this.script = this.calls.length === 0 ? this.chunks : this.laterChunks;
    const call = { params, aborted: false, chunksSent: 0, resumedAt };
    this.calls.push(call);
    this.maxRunning = Math.max(this.maxRunning, ++this.running);
    const tokens: number[] = [];
    // stop strings as the engine applies them: text that may begin one is held back until it cannot
    const stops = new StopStringFilter(params.stopStrings ?? []);
    try {
      let text = '';
      for (let i = resumedAt ?? 0; i < this.script.length && tokens.length < (params.maxNewTokens ?? Infinity); i++) {
        await sleep(this.stepMs);
        if (options.signal?.aborted) {
          call.aborted = true;
          options.onText?.(stops.flush(), []); // as the engine does: what it held back goes out when it stops
          return result(text, 'cancelled', tokens);
        }
        const chunk = this.script[i];
        if (chunk instanceof Error) throw chunk;
        text += chunk;
        tokens.push(SCRIPTED_TOKEN + i);
        call.chunksSent++;
        const { delta, stopped } = stops.update(text);
        options.onText?.(delta, [SCRIPTED_TOKEN + i]);
        if (stopped) return result(stops.fullText, 'stop-string', tokens);
      }
      options.onText?.(stops.flush(), []);
      return result(text, 'max-tokens', tokens);
    } finally {
      this.running--;
    }
  }

  /** Chunks sent over all calls (a resumed generation's included). */
  get chunksSent(): number {
    return this.calls.reduce((sum, call) => sum + call.chunksSent, 0);
  }

  tokenize(text: string): number[] {
    return [...text].map((ch) => ch.charCodeAt(0));
  }

  async dispose(): Promise<void> {}
}

const SCRIPTED_TOKEN = 100_000;

function result(text: string, stopReason: string, tokens: number[]): CompletionGenerationResult {
  return {
    tokens,
    text,
    stopReason,
    stats: {
      promptTokens: 10, promptCacheHitTokens: 0, timeToFirstTokenMs: 1, tokensPerSecond: 100, generatedTokens: tokens.length,
      drafted: tokens.length, accepted: tokens.length, acceptanceRate: 1, totalMs: 5, estimatedSpeedup: 2, exitLayer: 2, draftLength: 4, device: 'test',
    },
  };
}

function model(engine: CompletionEngine, decoding: Partial<Decoding> = {}): ModelInUse {
  return { engine, prompts: new PromptBuilder((t) => Promise.resolve(engine.tokenize(t) as number[]), null), decoding: { mode: 'self-speculative', exitLayer: 2, draftLength: 4, ...decoding }, fimEndOfText: null, name: 'scripted', fullTokensPerSecond: 50 };
}

const request = (text: string) => ({ uri: 'file:///a.ts', languageId: 'typescript', text, offset: text.length, context: '' });
const never = (): AbortSignal => new AbortController().signal;
const ignore = (): void => undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(1);
  }
}

/**
 * A completion of BODY on `engine` whose caller cancels it (as VS Code does on the next keystroke) once engine call
 * `call` has sent `chunks` chunks; returns what that caller got.
 */
async function cancelledAfter(service: CompletionService, engine: ScriptedEngine, chunks: number, call = 0, text = BODY): Promise<CompletionOutcome> {
  const cancel = new AbortController();
  const outcome = service.complete(request(text), model(engine), DEFAULT_SETTINGS, cancel.signal, ignore);
  await until(() => engine.calls[call]?.chunksSent === chunks, `${chunks} chunks generated`);
  cancel.abort();
  return outcome;
}

// The user is typing `return foo(bar);` where the model, asked at `return `, generates it; its block ends at `}`.
const BODY = 'function f() {\n  return ';
const SCRIPT = ['fo', 'o(', 'bar', ');', '\n', '}', '\n', 'more();', '\n'];

void test('a new request aborts the one in flight; the caller of the old one gets nothing', async () => {
  const engine = new ScriptedEngine(Array.from({ length: 50 }, () => 'x'));
  const service = new CompletionService();
  const first = service.complete(request('const a = '), model(engine), DEFAULT_SETTINGS, new AbortController().signal, () => undefined);
  await new Promise((r) => setTimeout(r, 30));
  const second = service.complete(request('const a = 1'), model(engine), DEFAULT_SETTINGS, new AbortController().signal, () => undefined);
  assert.deepEqual(await first, { text: '', stats: null });
  const outcome = await second;
  assert.equal(engine.calls[0].aborted, true);
  assert.ok(engine.calls[0].chunksSent < 50);
  assert.equal(outcome.text, 'x'.repeat(50).slice(0, outcome.text.length));
  assert.equal(outcome.stats?.speedup, 2, '100 tokens/s over the 50 measured for full decoding');
});

void test('cancellation answers the caller at once; the engine finishes the line being typed, then pauses; after the grace period the generation is gone', async () => {
  const engine = new ScriptedEngine([...SCRIPT, ...Array.from({ length: 50 }, () => 'x')], 10);
  const service = new CompletionService();
  const controller = new AbortController();
  const pending = service.complete(request(BODY), model(engine), DEFAULT_SETTINGS, controller.signal, ignore);
  await until(() => engine.calls[0]?.chunksSent === 1, 'generating');
  const cancelledAt = performance.now();
  controller.abort();
  assert.deepEqual(await pending, { text: '', stats: null });
  assert.ok(performance.now() - cancelledAt < completionRules.adoptionGraceMs, 'the caller does not wait for the grace period');
  await until(() => engine.calls[0].aborted, 'the engine pauses');
  // "foo(bar);" and its line end (released once the next chunk shows it cannot begin a stop string): no further
  assert.equal(engine.calls[0].chunksSent, 6);
  await sleep(completionRules.adoptionGraceMs + 50);
  assert.equal(engine.calls.length, 1, 'nothing resumed it, nothing more was generated');
  // past the grace period, typing what it generated no longer takes it over: a fresh generation
  await service.complete(request(BODY + 'fo'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(engine.calls.length, 2);
  assert.equal(engine.calls[1].resumedAt, null);
});

void test('a request for text the user typed through the generation in flight takes it over: one engine call', async () => {
  const engine = new ScriptedEngine(SCRIPT, 20);
  const service = new CompletionService();
  assert.deepEqual(await cancelledAfter(service, engine, 2), { text: '', stats: null });
  const receivedB = performance.now();
  const partials: string[] = [];
  const b = await service.complete(request(BODY + 'fo'), model(engine), DEFAULT_SETTINGS, never(), (p) => partials.push(p));
  const waitedB = performance.now() - receivedB;
  assert.equal(b.text, 'o(bar);', 'the generated text past what was typed, cut at the end of the block for B');
  assert.equal(engine.calls.length, 1);
  assert.deepEqual(partials, ['o(bar);'], 'B is streamed its first line');
  assert.ok(b.stats?.delivered);
  assert.ok(b.stats.latencyMs <= waitedB, `latency ${b.stats.latencyMs} ms is measured from B's receipt (${waitedB} ms)`);
  assert.ok(b.stats.timeToFirstTokenMs <= b.stats.latencyMs && b.stats.firstLineMs !== null && b.stats.firstLineMs <= b.stats.latencyMs);
});

void test('typed text the generation did not produce: a fresh generation, once the old one has stopped', async () => {
  const engine = new ScriptedEngine(SCRIPT, 20, ['lse;', '\n', '}', '\n']);
  const service = new CompletionService();
  await cancelledAfter(service, engine, 2);
  const b = await service.complete(request(BODY + 'fa'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(b.text, 'lse;');
  assert.equal(engine.calls.length, 2);
  assert.equal(engine.calls[0].aborted, true);
  assert.ok(engine.calls[0].chunksSent <= 3, 'aborted when B arrived, not at the end of the grace period');
  assert.equal(engine.maxRunning, 1);
});

void test('typing ahead of the generation: taken over while it agrees, aborted at its first disagreement', async () => {
  const ahead = new ScriptedEngine(SCRIPT, 20);
  const service = new CompletionService();
  await cancelledAfter(service, ahead, 1);
  const b = await service.complete(request(BODY + 'foo(b'), model(ahead), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(b.text, 'ar);', 'the generation went on to produce "o(" and "bar" as typed');
  assert.equal(ahead.calls.length, 1);

  const wrong = new ScriptedEngine(SCRIPT, 20, ['x);', '\n', '}', '\n']);
  await cancelledAfter(service, wrong, 1);
  const d = await service.complete(request(BODY + 'foo(x'), model(wrong), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(d.text, 'x);', "D's own generation");
  assert.equal(wrong.calls.length, 2);
  assert.equal(wrong.calls[0].aborted, true);
  assert.equal(wrong.calls[0].chunksSent, 3, 'aborted at "bar", the first text that contradicts "foo(x"');
  assert.equal(wrong.maxRunning, 1);
});

void test('a generation is never taken over across a settings change or a model change', async () => {
  const engine = new ScriptedEngine(SCRIPT, 20);
  const service = new CompletionService();
  await cancelledAfter(service, engine, 2);
  await service.complete(request(BODY + 'fo'), model(engine), { ...DEFAULT_SETTINGS }, never(), ignore);
  assert.equal(engine.calls.length, 2, 'new settings (even equal ones): a fresh generation');
  assert.equal(engine.calls[0].aborted, true);

  const other = new ScriptedEngine(SCRIPT, 20);
  await cancelledAfter(service, engine, 2, 2);
  await service.complete(request(BODY + 'fo'), model(other), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(engine.calls[2].aborted, true);
  assert.equal(other.calls.length, 1, 'another model: its own generation');
});

void test('a generation can be taken over again and again as the user keeps typing through it', async () => {
  const engine = new ScriptedEngine(SCRIPT, 20);
  const service = new CompletionService();
  const cancelA = new AbortController();
  const a = service.complete(request(BODY), model(engine), DEFAULT_SETTINGS, cancelA.signal, ignore);
  await until(() => engine.chunksSent === 1, '"fo" generated');
  cancelA.abort();
  const cancelB = new AbortController();
  const b = service.complete(request(BODY + 'f'), model(engine), DEFAULT_SETTINGS, cancelB.signal, ignore);
  await until(() => engine.chunksSent === 2, '"foo(" generated');
  cancelB.abort();
  // C is not cancelled when D arrives (a client may send the cancellation late): D takes over from it all the same.
  const c = service.complete(request(BODY + 'fo'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  const d = service.complete(request(BODY + 'foo'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.deepEqual(await Promise.all([a, b, c]), [{ text: '', stats: null }, { text: '', stats: null }, { text: '', stats: null }]);
  assert.equal((await d).text, '(bar);');
  assert.ok(engine.calls.slice(1).every((call) => call.resumedAt !== null), 'one generation, paused and resumed');
  assert.ok(engine.chunksSent <= SCRIPT.length, 'no chunk decoded twice');
});

void test('a generation that ended with the whole suggestion serves the next request without the engine', async () => {
  const engine = new ScriptedEngine(SCRIPT, 5);
  const service = new CompletionService();
  await cancelledAfter(service, engine, 8); // "foo(bar);\n}\n" released: the block is closed, the engine stopped
  await sleep(20);
  const b = await service.complete(request(BODY + 'fo'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(b.text, 'o(bar);');
  assert.equal(engine.calls.length, 1, 'not resumed');
});

void test('a paused generation resumes for a request that needs more: from its own tokens, nothing decoded twice', async () => {
  const engine = new ScriptedEngine(SCRIPT, 20);
  const service = new CompletionService();
  await cancelledAfter(service, engine, 1);
  await until(() => engine.calls[0].aborted, 'paused at the end of the line');
  const partials: string[] = [];
  const b = await service.complete(request(BODY + 'fo'), model(engine), DEFAULT_SETTINGS, never(), (p) => partials.push(p));
  assert.equal(b.text, 'o(bar);');
  assert.deepEqual(engine.calls.map((call) => call.resumedAt), [null, engine.calls[0].chunksSent], "resumed with A's tokens at the prompt's end");
  assert.ok(engine.chunksSent <= 8, `${engine.chunksSent} chunks for a block of 8: none decoded twice`);
  assert.deepEqual(partials, ['o(bar);']);
});

void test('a stop string ends the suggestion and stops the engine (completion applies them, not the engine)', async () => {
  const engine = new ScriptedEngine(['foo();', '\n```', '\nmore();', '\n', 'x', 'y', 'z'], 5);
  const outcome = await new CompletionService().complete(request('const a = 1;\n'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(outcome.text, 'foo();');
  assert.equal(engine.calls[0].aborted, true);
  assert.ok(engine.calls[0].chunksSent <= 3, `stopped right after the fence (${engine.calls[0].chunksSent} chunks)`);
});

void test('resuming hands out no text twice', async () => {
  const engine = new ScriptedEngine(['a\n', 'b\n', 'x', 'y', ';\n', '\n', '\n'], 20);
  const service = new CompletionService();
  await cancelledAfter(service, engine, 1, 0, 'x = [\n');
  await until(() => engine.calls[0].aborted, 'paused at the end of a line');
  const b = await service.complete(request('x = [\na'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.deepEqual(engine.calls.map((call) => call.resumedAt), [null, engine.calls[0].chunksSent]);
  assert.equal(b.text, '\nb\nxy;');
});

void test('a stop string that straddles the pause still ends the suggestion', async () => {
  // stop strings here: three line ends. Paused after "b" + a line end (held back: it may begin one), resumed for B,
  // the resumed run brings two more line ends: the suggestion ends there, "c" never shows.
  const engine = new ScriptedEngine(['a\n', 'b\n', '\n\nc', 'd'], 20);
  const service = new CompletionService();
  await cancelledAfter(service, engine, 1, 0, 'x = [\n');
  await until(() => engine.calls[0].aborted, 'paused at the end of a line');
  const b = await service.complete(request('x = [\na'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.deepEqual(engine.calls.map((call) => call.resumedAt), [null, 2]);
  assert.equal(engine.calls[1].aborted, true, 'the resumed run was stopped at the line ends, not run on to "d"');
  assert.equal(engine.calls[1].chunksSent, 1);
  assert.ok(!b.text.includes('c'), `got ${JSON.stringify(b.text)}`);
  assert.match(b.text, /b/);
});

void test('an engine failure reaches the request being served; in the grace period it is dropped, not leaked', async () => {
  const failure = new Error('engine worker exited (code 1)');
  const served = new ScriptedEngine(['fo', failure], 5);
  await assert.rejects(new CompletionService().complete(request(BODY), model(served), DEFAULT_SETTINGS, never(), ignore), failure);

  const leaks: unknown[] = [];
  const onLeak = (reason: unknown): number => leaks.push(reason);
  process.on('unhandledRejection', onLeak);
  try {
    const orphaned = new ScriptedEngine(['fo', 'o(', failure], 20, ['lse;', '\n', '}', '\n']);
    const service = new CompletionService();
    assert.deepEqual(await cancelledAfter(service, orphaned, 1), { text: '', stats: null });
    await sleep(completionRules.adoptionGraceMs + 50);
    const b = await service.complete(request(BODY + 'fa'), model(orphaned), DEFAULT_SETTINGS, never(), ignore);
    assert.equal(b.text, 'lse;');
    assert.deepEqual(leaks, []);
  } finally {
    process.off('unhandledRejection', onLeak);
  }
});

void test('a request that is not cancelled gets its own result and statistics, as without take-overs', async () => {
  const engine = new ScriptedEngine(SCRIPT, 5);
  const service = new CompletionService();
  const a = await service.complete(request(BODY), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(a.text, 'foo(bar);');
  assert.equal(a.stats?.timeToFirstTokenMs, 1, "the engine's");
  assert.equal(a.stats.generatedTokens, 8, "the block's last line end shows one chunk late: it might begin a stop string");
  assert.equal(a.stats.delivered, true);
  assert.equal(a.stats.lookAhead, false);
  // The client replays a shown suggestion as the user types it; a request after that gets a generation of its own.
  await service.complete(request(BODY + 'fo'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(engine.calls.length, 2);
});

void test('a multi-line suggestion streams from its first line and stops as soon as its block is closed', async () => {
  const chunks = ['\n    a', '();\n', '    b();\n', '  }\n', '  more();\n', '  evenMore();\n'];
  const engine = new ScriptedEngine(chunks);
  const partials: string[] = [];
  const text = 'function f() {\n  if (x) {';
  const outcome = await new CompletionService().complete(request(text), model(engine), { ...DEFAULT_SETTINGS, mode: 'self-speculative' }, new AbortController().signal, (p) => partials.push(p));
  assert.equal(outcome.text, '\n    a();\n    b();\n  }');
  assert.equal(engine.calls[0].aborted, true, 'generation ended once the closing line was complete');
  assert.ok(engine.calls[0].chunksSent <= 5, `sent ${engine.calls[0].chunksSent} of ${chunks.length} chunks`);
  assert.ok(partials.length >= 1);
  assert.ok(partials.every((p) => outcome.text.startsWith(p)), `partials grow into the final text: ${JSON.stringify(partials)}`);
  assert.ok(outcome.stats?.firstLineMs !== null);
  assert.deepEqual(engine.calls[0].params.stopStrings, [], 'completion applies the stop strings itself, over every run of a generation');
});

void test('the model host reports a failed load as an error state and loads again when the setting is fixed', async () => {
  const states: ServerState[] = [];
  // the engine's died event, as the worker-backed engine raises it when its worker ends unasked
  const died = new Set<(message: string) => void>();
  const opened = (numLayers: number): OpenedModel => ({
    engine: new ScriptedEngine(['1']),
    summary: { path: '/good', name: 'good', numLayers, device: 'test', hasFim: false, recommendedExitLayer: 2, recommendedDraftLength: 4 },
    bosTokenId: null,
    fim: null,
    calibration: fakeCalibrationTarget(),
    onDied: (listener) => {
      died.add(listener);
      return () => died.delete(listener);
    },
  });
  const host = new ModelHost(
    async (source) => {
      const path = source.kind === 'package' ? source.path : source.url;
      if (path !== '/good') throw new Error(`the folder ${path} does not exist`);
      return opened(8);
    },
    '/bundled',
    (state) => states.push(state),
    () => undefined,
    noCalibrations(),
    () => undefined,
  );
  const failed = await host.applySettings({});
  assert.equal(failed.phase, 'error');
  assert.match(failed.message, /\/bundled does not exist.*Select Model Folder/);
  assert.equal(host.modelInUse(), null);
  const ready = await host.applySettings({ modelPath: '/good', autoCalibrate: false });
  assert.equal(ready.phase, 'ready');
  assert.equal(ready.model?.numLayers, 8);
  assert.equal(host.modelInUse()?.decoding.mode, 'full', "mode 'auto' decodes in full until the model is calibrated");
  await host.applySettings({ mode: 'self-speculative' });
  assert.equal(host.modelInUse()?.decoding.exitLayer, 2, 'the recommendation when no exit layer is set');
  await assert.rejects(host.applySettings({ exitLayer: 8 }), /exit layer must be an integer from 1 to 7/);
  assert.equal(host.currentSettings.exitLayer, null, 'a rejected setting changes nothing');
  await host.applySettings({ exitLayer: 5 });
  assert.equal(host.modelInUse()?.decoding.exitLayer, 5);
  await host.applySettings({ engine: { timeBudgetMs: null } });
  assert.deepEqual(host.currentSettings.engine, { adaptiveDraft: true, timeBudgetMs: null }, 'engine settings change one by one');
  // an engine setting the engine would refuse at every generation is refused once, here, and changes nothing
  await assert.rejects(host.applySettings({ engine: { timeBudgetMs: 0 } }), /time budget must be empty \(no limit\) or a positive number/);
  assert.equal(host.currentSettings.engine.timeBudgetMs, null);
  for (const listener of [...died]) listener('engine worker exited (code 1)');
  assert.equal(host.state.phase, 'error');
  assert.match(host.state.message, /engine worker exited/);
  assert.equal((await host.applySettings({ draftLength: 3 })).phase, 'ready', 'any settings change reloads a dead engine');
  assert.deepEqual(states.map((s) => s.phase), ['loading', 'error', 'loading', 'ready', 'ready', 'ready', 'ready', 'error', 'loading', 'ready']);
  await host.dispose();
});

void test('the engine gets the operating point and the engine settings as they are, unless the point overrides them', async () => {
  const engines = [new ScriptedEngine(['z']), new ScriptedEngine(['z'])];
  const settings = { ...DEFAULT_SETTINGS, engine: { adaptiveDraft: true, timeBudgetMs: 700 } };
  await new CompletionService().complete(request('let c = '), model(engines[0], { mode: 'early-exit' }), settings, never(), ignore);
  await new CompletionService().complete(request('let d = '), model(engines[1], { adaptiveDraft: false }), settings, never(), ignore);
  // each engine's first call is the request's (a look-ahead may follow it)
  assert.deepEqual(
    engines.map(({ calls: [{ params }] }) => [params.mode, params.exitLayer, params.draftLength, params.adaptiveDraft, params.timeBudgetMs]),
    [['early-exit', 2, 4, true, 700], ['self-speculative', 2, 4, false, 700]],
  );
});

void test('the model host opens a remote server when remoteUrl is set: the key apart from the settings, retries, warnings', async () => {
  const sources: ModelSource[] = [];
  let reachable = false;
  const host = new ModelHost(
    async (source) => {
      sources.push(source);
      if (source.kind === 'remote' && !reachable) throw new Error('cannot reach http://team:8080/v1/models: connection refused (ECONNREFUSED)');
      return {
        engine: new ScriptedEngine(['1']),
        summary: { path: source.kind === 'remote' ? source.url : source.path, name: 'm', numLayers: 8, device: source.kind === 'remote' ? 'remote' : 'cpu', hasFim: true, recommendedExitLayer: 2, recommendedDraftLength: 4 },
        bosTokenId: null,
        fim: null,
        calibration: source.kind === 'remote' ? null : fakeCalibrationTarget(),
        onDied: () => () => undefined,
      };
    },
    '/bundled',
    () => undefined,
    () => undefined,
    noCalibrations(),
    () => undefined,
  );
  await assert.rejects(host.applySettings({ remoteUrl: 'team:8080' }), /remoteUrl is not a URL|must be http or https/);
  await host.setRemoteApiKey('sk-1');
  const down = await host.applySettings({ remoteUrl: 'http://team:8080/v1', remoteModel: 'big', autoCalibrate: false });
  assert.equal(down.phase, 'error');
  assert.match(down.message, /Cannot use the remote server at http:\/\/team:8080\/v1: cannot reach .*connection refused.*try it again/);
  assert.deepEqual(sources.at(-1), { kind: 'remote', url: 'http://team:8080/v1', model: 'big', apiKey: 'sk-1', promptPackage: '/bundled' });
  assert.ok(!JSON.stringify(down).includes('sk-1'), 'the key is not in the state');
  host.retryRemote();
  assert.equal(sources.length, 1, 'not retried within a few seconds of the last attempt');
  reachable = true;
  const ready = await host.setRemoteApiKey('sk-2');
  assert.equal(ready.phase, 'ready', 'a new key opens the remote model again');
  assert.deepEqual(sources.at(-1), { kind: 'remote', url: 'http://team:8080/v1', model: 'big', apiKey: 'sk-2', promptPackage: '/bundled' });
  assert.equal(ready.operatingPoint?.source, 'remote');
  assert.equal(host.modelInUse()?.decoding.mode, 'full');
  host.warn('The last completion failed: timed out');
  assert.equal(host.state.warning, 'The last completion failed: timed out');
  assert.equal(host.state.phase, 'ready');
  host.completionSucceeded();
  assert.equal(host.state.warning, null);
  const local = await host.applySettings({ remoteUrl: null });
  assert.equal(local.phase, 'ready');
  assert.deepEqual(sources.at(-1), { kind: 'package', path: '/bundled', device: 'auto' });
  const countBefore = sources.length;
  await host.setRemoteApiKey('sk-3');
  assert.equal(sources.length, countBefore, 'a key change reloads nothing while the local engine runs');
  await host.dispose();
});

void test('look-ahead: a delivered suggestion prepares the next; accepting it (or typing it) takes that generation over', async () => {
  // the first call suggests "foo(bar);", the look-ahead's (and later) calls continue with a new line
  const engine = new ScriptedEngine(['foo', '(bar', ');\n'], 5, ['\n  baz', '();\n', '\n', '\n']);
  const service = new CompletionService();
  const first = await service.complete(request(BODY), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(first.text, 'foo(bar);');
  assert.equal(first.stats?.lookAhead, false);
  await until(() => engine.calls.length === 2, 'the look-ahead started');
  // Tab: the document with the suggestion, the cursor after it; served by the look-ahead, streamed, no new engine call
  const partials: string[] = [];
  const accepted = await service.complete(request(BODY + 'foo(bar);'), model(engine), DEFAULT_SETTINGS, never(), (p) => partials.push(p));
  assert.equal(accepted.text, '\n  baz();');
  assert.equal(accepted.stats?.lookAhead, true);
  assert.ok(partials.length > 0, 'its text streamed');
  assert.equal(engine.calls.length, 2, 'the look-ahead was the only engine call for it');
  // that suggestion prepares its own look-ahead; a request for any other document replaces it
  await until(() => engine.calls.length === 3, 'the next look-ahead started');
  const elsewhere = await service.complete(request('let unrelated = '), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(elsewhere.stats?.lookAhead, false);
  assert.equal(engine.calls[2].aborted, true, 'the replaced look-ahead was stopped');
});

void test('look-ahead: typing the start of the prepared suggestion is served by it too; other typing is not', async () => {
  const engine = new ScriptedEngine(['foo', '(bar', ');\n'], 5, ['\n  baz', '();\n', '\n', '\n']);
  const service = new CompletionService();
  await service.complete(request(BODY), model(engine), DEFAULT_SETTINGS, never(), ignore);
  await until(() => engine.calls.length === 2 && engine.calls[1].chunksSent === 2, 'the look-ahead generated');
  // the user accepted and typed a space where the look-ahead wrote a line break: not what it generated
  const other = await service.complete(request(BODY + 'foo(bar); '), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(other.stats?.lookAhead, false);
  assert.equal(engine.calls.length, 3, 'a generation of its own');
});

void test('warm-up: the cursor at rest gets its prompt prefilled (one token, serving nobody); a request there runs its own generation', async () => {
  const engine = new ScriptedEngine(['x', 'y', 'z'], 5, ['foo', '(bar', ');\n']);
  const service = new CompletionService();
  service.warm(request(BODY), model(engine), DEFAULT_SETTINGS);
  service.warm(request(BODY), model(engine), DEFAULT_SETTINGS); // the same place again: nothing new
  await until(() => engine.calls.length === 1 && engine.calls[0].chunksSent === 1, 'the warm-up ran');
  assert.equal(engine.calls[0].params.maxNewTokens, 1);
  const a = await service.complete(request(BODY), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(engine.calls.length, 2, 'the warm-up is not taken over: the request generates (its prompt now cached)');
  assert.equal(engine.calls[1].params.maxNewTokens, DEFAULT_SETTINGS.maxNewTokens);
  assert.equal(a.text, 'foo(bar);');
  // the cursor rests where the look-ahead is already at work: nothing new either
  await until(() => engine.calls.length === 3, 'the look-ahead started');
  service.warm(request(BODY + 'foo(bar);'), model(engine), DEFAULT_SETTINGS);
  await sleep(30);
  assert.equal(engine.calls.length, 3);
});

/** An engine that cannot say which tokens it generated (a remote server): its paused generations are not resumed. */
class TextOnlyEngine extends ScriptedEngine {
  override async generate(...args: Parameters<ScriptedEngine['generate']>): Promise<CompletionGenerationResult> {
    return { ...(await super.generate(...args)), tokens: null };
  }
}

void test('a generation paused and never resumed (tokens unknown) does not serve its own document as if complete', async () => {
  // multi-line at "x = [": paused at the end of the first line when cancelled, then ended (nothing to resume from)
  const engine = new TextOnlyEngine(['a,\n', 'b,\n', 'c\n', ']', '\n', '\n', '\n'], 20);
  const service = new CompletionService();
  await cancelledAfter(service, engine, 1, 0, 'x = [\n');
  await until(() => engine.calls[0].aborted, 'paused at the end of a line');
  const again = await service.complete(request('x = [\n'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(engine.calls.length, 2, 'a generation of its own');
  assert.equal(again.text, 'a,\nb,\nc\n]');
});

void test('look-ahead in a CRLF document: the accepted suggestion arrives with CRLF line breaks, and still takes it over', async () => {
  const engine = new ScriptedEngine(['\r\n    a', '();\r\n', '  }\r\n', 'x'], 5, ['\r\n  b', '();\r\n', '\r\n', '\r\n']);
  const service = new CompletionService();
  const text = 'function f() {\r\n  if (x) {';
  const first = await service.complete(request(text), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(first.text, '\n    a();\n  }', 'post-processed with LF');
  await until(() => engine.calls.length === 2, 'the look-ahead started');
  const accepted = await service.complete(request(text + '\r\n    a();\r\n  }'), model(engine), DEFAULT_SETTINGS, never(), ignore);
  assert.equal(accepted.stats?.lookAhead, true, 'served by the look-ahead');
  assert.equal(engine.calls.length, 2);
});

void test('settings: engine keys the engine does not have are dropped, not passed to every generation', async () => {
  const host = new ModelHost(async () => { throw new Error('no model here'); }, '/bundled', () => undefined, () => undefined, noCalibrations(), () => undefined);
  await host.applySettings({ engine: { adaptiveDraft: false, draftConfidenceThreshold: 2 } as never });
  assert.deepEqual(host.currentSettings.engine, { adaptiveDraft: false, timeBudgetMs: DEFAULT_SETTINGS.engine.timeBudgetMs });
});
