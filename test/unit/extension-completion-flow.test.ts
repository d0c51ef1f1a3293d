// The extension's inline completion flow (extension/completionFlow.ts, what the VS Code provider decides) with a
// scripted server and editor: streaming answers with the first text and re-shows each growth only while the cursor
// stays, the typing-as-suggested cache answers without a request, the debounce (and its exceptions), cancellation
// and failures. The e2e tests cover the same behaviour in a real VS Code; these pin it down case by case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionFlow, type Cancellation, type EditorSide } from '../../extension/completionFlow.js';
import type { CursorView } from '../../extension/suggestionCache.js';

class Token implements Cancellation {
  isCancellationRequested = false;
  private readonly listeners: (() => void)[] = [];
  onCancellationRequested(listener: () => void): { dispose(): void } {
    this.listeners.push(listener);
    return { dispose: () => void this.listeners.splice(this.listeners.indexOf(listener), 1) };
  }
  cancel(): void {
    this.isCancellationRequested = true;
    for (const listener of [...this.listeners]) listener();
  }
}

class Editor implements EditorSide {
  reshows = 0;
  here = true;
  warnings: string[] = [];
  reshow(): void {
    this.reshows++;
  }
  cursorStillThere(): boolean {
    return this.here;
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

/** A request the test drives: partial() streams, finish() / fail() end it. */
function scriptedRequest(): {
  request: (onPartial: (text: string) => void) => Promise<string>;
  partial: (text: string) => void;
  finish: (text: string) => void;
  fail: (error: Error) => void;
  calls: () => number;
} {
  let onPartial: (text: string) => void = () => undefined;
  let settle: { resolve: (text: string) => void; reject: (error: Error) => void } | null = null;
  let calls = 0;
  return {
    request: (listener) => {
      calls++;
      onPartial = listener;
      return new Promise((resolve, reject) => (settle = { resolve, reject }));
    },
    partial: (text) => onPartial(text),
    finish: (text) => settle?.resolve(text),
    fail: (error) => settle?.reject(error),
    calls: () => calls,
  };
}

const at = (before: string, after = '\n'): CursorView => ({ uri: 'file:///a.ts', offset: before.length, before, after });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void describe('the inline completion flow (extension)', () => {
  void it('answers with the first streamed text, caches each growth and re-shows it while the cursor stays', async () => {
    const flow = new CompletionFlow();
    const server = scriptedRequest();
    const editor = new Editor();
    const shown = flow.provide(at('const x = '), true, new Token(), server.request, editor);
    await tick();
    server.partial('foo(');
    assert.equal(await shown, 'foo(', 'the editor is answered with the first text, not the final one');
    server.partial('foo(bar);');
    assert.equal(editor.reshows, 1, 'the growth is re-shown');
    editor.here = false;
    server.partial('foo(bar); // more');
    assert.equal(editor.reshows, 1, 'not after the cursor moved');
    server.finish('foo(bar); // more');
    await tick();
    // VS Code asks again after a re-show: the cache answers with the grown text, and no request goes out
    assert.equal(await flow.provide(at('const x = '), false, new Token(), server.request, editor), 'foo(bar); // more');
    assert.equal(await flow.provide(at('const x = foo('), false, new Token(), server.request, editor), 'bar); // more', 'typing what it showed keeps the rest');
    assert.equal(server.calls(), 1);
  });

  void it('a request that never streams is answered with its final text; an empty one with nothing', async () => {
    const flow = new CompletionFlow();
    const server = scriptedRequest();
    const editor = new Editor();
    const shown = flow.provide(at('let a = '), true, new Token(), server.request, editor);
    await tick();
    server.finish('1;');
    assert.equal(await shown, '1;');
    const none = flow.provide(at('let b = '), true, new Token(), server.request, editor);
    await tick();
    server.finish('');
    assert.equal(await none, null);
  });

  void it('waits the debounce for typing, not for an explicit request nor right after an acceptance', async () => {
    let now = 0;
    const flow = new CompletionFlow(() => now);
    const server = scriptedRequest();
    const editor = new Editor();
    // a typing rhythm of 200 ms between keys: an automatic request waits about that long
    for (const key of [0, 200, 400]) {
      now = key;
      const token = new Token();
      const pending = flow.provide(at(`x${key}`), false, token, server.request, editor);
      token.cancel(); // the next key comes first
      assert.equal(await pending, null);
    }
    assert.equal(server.calls(), 0, 'keys typed faster than the debounce send nothing');
    now = 600;
    const waited = performance.now();
    const automatic = flow.provide(at('x600'), false, new Token(), server.request, editor);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(server.calls(), 0, 'still debouncing after 100 ms');
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(server.calls(), 1, 'sent after the typical gap');
    server.finish('a');
    assert.equal(await automatic, 'a');
    assert.ok(performance.now() - waited >= 190);

    now = 800;
    const explicit = flow.provide(at('y'), true, new Token(), server.request, editor);
    await tick();
    assert.equal(server.calls(), 2, 'an explicit request goes out at once');
    server.finish('b');
    await explicit;

    flow.accepted();
    now = 1000;
    const lookAhead = flow.provide(at('z'), false, new Token(), server.request, editor);
    await tick();
    assert.equal(server.calls(), 3, 'right after an acceptance: at once');
    server.finish('c');
    await lookAhead;
  });

  void it('cancelled: nothing shown and nothing cached from later streaming; a failure is logged unless cancelled', async () => {
    const flow = new CompletionFlow();
    const server = scriptedRequest();
    const editor = new Editor();
    const token = new Token();
    const shown = flow.provide(at('let c = '), true, token, server.request, editor);
    await tick();
    token.cancel();
    server.partial('late');
    server.finish('late');
    assert.equal(await shown, null);
    assert.equal(editor.reshows, 0);
    const again = flow.provide(at('let c = '), true, new Token(), server.request, editor);
    await tick();
    assert.equal(server.calls(), 2, 'the cancelled text was not cached');
    server.fail(new Error('server down'));
    assert.equal(await again, null);
    assert.deepEqual(editor.warnings, ['inline completion failed: server down']);
    const cancelledFailure = new Token();
    const third = flow.provide(at('let d = '), true, cancelledFailure, server.request, editor);
    await tick();
    cancelledFailure.cancel();
    server.fail(new Error('cancelled'));
    assert.equal(await third, null);
    assert.equal(editor.warnings.length, 1, 'a cancelled request failing is not news');
  });

  void it('clearCache forgets what was shown (settings changed): the next request goes to the server', async () => {
    const flow = new CompletionFlow();
    const server = scriptedRequest();
    const editor = new Editor();
    const first = flow.provide(at('q = '), true, new Token(), server.request, editor);
    await tick();
    server.finish('1');
    await first;
    flow.clearCache();
    const second = flow.provide(at('q = '), true, new Token(), server.request, editor);
    await tick();
    assert.equal(server.calls(), 2);
    server.finish('2');
    assert.equal(await second, '2');
  });
});
