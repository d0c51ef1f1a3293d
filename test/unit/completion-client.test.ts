// The extension's pure parts: typing-as-suggested cache, adaptive debounce, bounded restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveDebouncer, sleepUnlessCancelled } from '../../extension/debouncer.js';
import { RestartPolicy } from '../../extension/restartPolicy.js';
import { SuggestionCache, type CursorView } from '../../extension/suggestionCache.js';

function at(document: string, cursor: number, uri = 'file:///a.ts'): CursorView {
  return { uri, offset: cursor, before: document.slice(0, cursor), after: document.slice(cursor) };
}

void test('typing what the ghost text predicted shows the rest from the cache', () => {
  const cache = new SuggestionCache();
  const doc = 'const total = \nreturn total;';
  const cursor = doc.indexOf('\n');
  cache.store(at(doc, cursor), 'items.length;');
  const typed = doc.slice(0, cursor) + 'ite' + doc.slice(cursor);
  assert.equal(cache.lookup(at(typed, cursor + 3)), 'ms.length;');
  assert.equal(cache.lookup(at(doc, cursor)), 'items.length;', 'the original position still hits');
});

void test('typing something else, editing after the cursor, or another document misses', () => {
  const cache = new SuggestionCache();
  const doc = 'const total = \nreturn total;';
  const cursor = doc.indexOf('\n');
  cache.store(at(doc, cursor), 'items.length;');
  const other = doc.slice(0, cursor) + 'x' + doc.slice(cursor);
  assert.equal(cache.lookup(at(other, cursor + 1)), null);
  const suffixEdited = doc.slice(0, cursor) + 'i' + doc.slice(cursor).replace('return', 'yield');
  assert.equal(cache.lookup(at(suffixEdited, cursor + 1)), null);
  assert.equal(cache.lookup(at(doc, cursor, 'file:///b.ts')), null);
  const fullyTyped = doc.slice(0, cursor) + 'items.length;' + doc.slice(cursor);
  assert.equal(cache.lookup(at(fullyTyped, cursor + 'items.length;'.length)), null, 'nothing left to show');
});

void test('a streamed suggestion that grows replaces its entry', () => {
  const cache = new SuggestionCache();
  const doc = 'f(';
  cache.store(at(doc, 2), 'a');
  cache.store(at(doc, 2), 'a, b');
  assert.equal(cache.lookup(at(doc, 2)), 'a, b');
});

void test('the debounce follows the typing rhythm within its bounds', () => {
  const debouncer = new AdaptiveDebouncer({ minMs: 40, maxMs: 400, gapFactor: 1.5, pauseMs: 1000 });
  assert.equal(debouncer.keystroke(0), 40, 'no rhythm yet: the minimum');
  let now = 0;
  for (let i = 0; i < 20; i++) debouncer.keystroke((now += 100));
  assert.ok(Math.abs(debouncer.delay() - 150) <= 2, `steady 100 ms gaps -> ~150 ms, got ${debouncer.delay()}`);
  for (let i = 0; i < 20; i++) debouncer.keystroke((now += 20));
  assert.equal(debouncer.delay(), 40, 'fast typing -> the minimum');
  debouncer.keystroke((now += 5000));
  assert.equal(debouncer.delay(), 40, 'a pause does not count as a slow keystroke');
  for (let i = 0; i < 20; i++) debouncer.keystroke((now += 900));
  assert.equal(debouncer.delay(), 400, 'slow typing -> capped');
});

void test('a cancelled debounce resolves false at once', async () => {
  let cancel: () => void = () => undefined;
  const started = Date.now();
  const waiting = sleepUnlessCancelled(10_000, (listener) => {
    cancel = listener;
    return { dispose: () => undefined };
  });
  cancel();
  assert.equal(await waiting, false);
  assert.ok(Date.now() - started < 100);
  assert.equal(await sleepUnlessCancelled(5, () => ({ dispose: () => undefined })), true);
});

void test('restarts are bounded: 5 within 3 minutes, then refused until the window passes or a manual restart', () => {
  const policy = new RestartPolicy(5, 180_000);
  for (let i = 0; i < 5; i++) assert.equal(policy.allowRestart(i * 1000), true);
  assert.equal(policy.allowRestart(6000), false);
  assert.equal(policy.allowRestart(181_000), true, 'the first restart left the window');
  policy.reset();
  assert.equal(policy.allowRestart(182_000), true);
});
