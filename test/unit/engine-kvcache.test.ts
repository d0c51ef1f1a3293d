// The KV cache: position-major rows, slots a run writes into, a length for rollback, growth that keeps the rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvCache } from '../../server/backend/kvCache.js';

const rows = (values: number[]): Float32Array => Float32Array.from(values);

void test('slots are views after the valid prefix; advance makes them valid; the past is a view of exactly the valid rows', () => {
  const cache = new KvCache(2, 1, 2, { initialCapacity: 4 }); // 2 layers, 1 kv head, head_dim 2
  const slot = cache.slot(0, 2);
  slot.keys.set([1, 2, 3, 4]);
  slot.values.set([5, 6, 7, 8]);
  assert.equal(cache.length(0), 0, 'a slot is not valid until advanced');
  cache.advance(0, 2);
  assert.deepEqual([...cache.pastKeys(0)], [1, 2, 3, 4]);
  assert.deepEqual([...cache.pastValues(0)], [5, 6, 7, 8]);
  assert.equal(cache.pastKeys(1).length, 0, 'layers are independent');
  // the past view and the next slot share the cache's buffer: no copy either way
  assert.equal(cache.pastKeys(0).buffer, cache.slot(0, 1).keys.buffer);
});

void test('rollback is a length: rejected rows are overwritten by the next slot', () => {
  const cache = new KvCache(1, 1, 1, { initialCapacity: 8 });
  cache.append(0, rows([1, 2, 3]), rows([1, 2, 3]));
  cache.truncate(1);
  assert.deepEqual([...cache.pastKeys(0)], [1]);
  cache.append(0, rows([9]), rows([9]));
  assert.deepEqual([...cache.pastKeys(0)], [1, 9]);
});

void test('growing keeps every valid row; a slot past the capacity grows the cache first', () => {
  const cache = new KvCache(1, 2, 1, { initialCapacity: 1 });
  cache.append(0, rows([1, 2]), rows([3, 4])); // one position, two kv heads
  const slot = cache.slot(0, 3); // needs 4 positions: grows (doubling) to 4
  assert.equal(slot.keys.length, 6);
  slot.keys.set([5, 6, 7, 8, 9, 10]);
  slot.values.set([0, 0, 0, 0, 0, 0]);
  cache.advance(0, 3);
  assert.deepEqual([...cache.pastKeys(0)], [1, 2, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual([...cache.pastValues(0)].slice(0, 2), [3, 4]);
  assert.throws(() => cache.advance(0, 1), /capacity/);
});

void test('a float16 cache holds half bit patterns and refuses float32 rows', () => {
  const cache = new KvCache(1, 1, 1, { dtype: 'float16' });
  assert.throws(() => cache.append(0, rows([1]), rows([1])), /float16 KV cache was given Float32Array/);
  cache.append(0, Uint16Array.of(0x3c00), Uint16Array.of(0x4000));
  assert.deepEqual([...cache.pastKeys(0)], [0x3c00]);
});
