// Orchestration of one completion (CompletionService) and of the model's lifecycle (ModelHost), against a scripted
// engine: it replays given text chunk by chunk and honours the abort signal like the real engine (one step late at
// most). The real engine and server are exercised end to end in test/integration/lsp-*.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompletionService, type ModelInUse } from '../../server/completion/completionService.js';
import type { CompletionEngine, CompletionGenerationParams, CompletionGenerationResult } from '../../server/completion/engine.js';
import { ModelHost, type OpenedModel } from '../../server/completion/modelHost.js';
import { PromptBuilder } from '../../server/completion/prompt.js';
import { DEFAULT_SETTINGS, type ServerState } from '../../server/protocol.js';

class ScriptedEngine implements CompletionEngine {
  readonly calls: { params: Partial<CompletionGenerationParams>; aborted: boolean; chunksSent: number }[] = [];
  constructor(
    private readonly chunks: string[],
    private readonly stepMs = 5,
  ) {}

  async generate(
    _prompt: number[],
    params: Partial<CompletionGenerationParams>,
    options: { signal?: AbortSignal; onText?: (delta: string, tokens: number[]) => void },
  ): Promise<CompletionGenerationResult> {
    const call = { params, aborted: false, chunksSent: 0 };
    this.calls.push(call);
    let text = '';
    for (const chunk of this.chunks) {
      await new Promise((r) => setTimeout(r, this.stepMs));
      if (options.signal?.aborted) {
        call.aborted = true;
        return result(text, 'cancelled', call.chunksSent);
      }
      text += chunk;
      call.chunksSent++;
      options.onText?.(chunk, [0]);
    }
    return result(text, 'max-tokens', call.chunksSent);
  }

  tokenize(text: string): number[] {
    return [...text].map((ch) => ch.charCodeAt(0));
  }

  async dispose(): Promise<void> {}
}

function result(text: string, stopReason: string, tokens: number): CompletionGenerationResult {
  return {
    text,
    stopReason,
    stats: {
      promptTokens: 10, promptCacheHitTokens: 0, timeToFirstTokenMs: 1, tokensPerSecond: 100, generatedTokens: tokens,
      drafted: tokens, accepted: tokens, acceptanceRate: 1, totalMs: 5, measuredSpeedupBound: 2, exitLayer: 2, draftLength: 4, device: 'test',
    },
  };
}

function model(engine: CompletionEngine): ModelInUse {
  return { engine, prompts: new PromptBuilder((t) => Promise.resolve(engine.tokenize(t) as number[]), null), exitLayer: 2, draftLength: 4, fimEndOfText: null, name: 'scripted', fullTokensPerSecond: 50 };
}

const request = (text: string) => ({ uri: 'file:///a.ts', languageId: 'typescript', text, offset: text.length, context: '' });

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

void test('cancellation by the caller stops the engine and reports no stats', async () => {
  const engine = new ScriptedEngine(Array.from({ length: 50 }, () => 'y'));
  const controller = new AbortController();
  const pending = new CompletionService().complete(request('let b = '), model(engine), DEFAULT_SETTINGS, controller.signal, () => undefined);
  setTimeout(() => controller.abort(), 20);
  assert.deepEqual(await pending, { text: '', stats: null });
  assert.equal(engine.calls[0].aborted, true);
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
  assert.deepEqual(engine.calls[0].params.stopStrings, ['\n\n\n', '```']);
});

void test('the model host reports a failed load as an error state and loads again when the setting is fixed', async () => {
  const states: ServerState[] = [];
  const opened = (numLayers: number): OpenedModel => ({
    engine: new ScriptedEngine(['1']),
    summary: { path: '/good', name: 'good', numLayers, device: 'test', hasFim: false, recommendedExitLayer: 2, recommendedDraftLength: 4 },
    bosTokenId: null,
    fim: null,
  });
  const host = new ModelHost(
    async (path) => {
      if (path !== '/good') throw new Error(`the folder ${path} does not exist`);
      return opened(8);
    },
    '/bundled',
    (state) => states.push(state),
    () => undefined,
  );
  const failed = await host.applySettings({});
  assert.equal(failed.phase, 'error');
  assert.match(failed.message, /\/bundled does not exist.*Select Model Folder/);
  assert.equal(host.modelInUse(), null);
  const ready = await host.applySettings({ modelPath: '/good' });
  assert.equal(ready.phase, 'ready');
  assert.equal(ready.model?.numLayers, 8);
  assert.equal(host.modelInUse()?.exitLayer, 2, 'the recommendation when no exit layer is set');
  await assert.rejects(host.applySettings({ exitLayer: 8 }), /exit layer must be an integer from 1 to 7/);
  assert.equal(host.currentSettings.exitLayer, null, 'a rejected setting changes nothing');
  await host.applySettings({ exitLayer: 5 });
  assert.equal(host.modelInUse()?.exitLayer, 5);
  host.engineFailed(new Error('engine worker exited (code 1)'));
  assert.equal(host.state.phase, 'error');
  assert.match(host.state.message, /engine worker exited/);
  assert.equal((await host.applySettings({ draftLength: 3 })).phase, 'ready', 'any settings change reloads a dead engine');
  assert.deepEqual(states.map((s) => s.phase), ['loading', 'error', 'loading', 'ready', 'ready', 'error', 'loading', 'ready']);
  await host.dispose();
});

void test('decoding settings reach the engine: mode, exit layer, draft length, adaptive drafting', async () => {
  const engine = new ScriptedEngine(['z']);
  const settings = { ...DEFAULT_SETTINGS, mode: 'early-exit' as const, adaptiveDraft: false };
  await new CompletionService().complete(request('let c = '), model(engine), settings, new AbortController().signal, () => undefined);
  await new CompletionService().complete(request('let d = '), model(engine), DEFAULT_SETTINGS, new AbortController().signal, () => undefined);
  assert.deepEqual(
    engine.calls.map(({ params }) => [params.mode, params.exitLayer, params.draftLength, params.adaptiveDraft]),
    [['early-exit', 2, 4, false], ['self-speculative', 2, 4, true]],
  );
});
