// Which cursor moves reach the server as layerskip/cursor (extension/cursorRest.ts): moves that come to rest without
// an edit, once each; moves that came with an edit (typing, an accepted suggestion) never.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CursorRest, type CursorAt } from '../../extension/cursorRest.js';

const REST_MS = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const at = (line: number, version = 1, uri = 'file:///a.ts'): CursorAt => ({ uri, version, line, character: 0 });

function harness(): { rest: CursorRest; sent: CursorAt[]; move: (to: CursorAt) => void } {
  const sent: CursorAt[] = [];
  const rest = new CursorRest((to) => sent.push(to), REST_MS);
  let current: CursorAt | null = null;
  return { rest, sent, move: (to) => rest.moved((current = to), () => current) };
}

void test('a cursor that comes to rest after a move without an edit is sent once; moves in between are not', async () => {
  const { sent, move } = harness();
  move(at(1)); // the document opened with the cursor here
  move(at(2));
  move(at(3)); // arrow keys, faster than the rest time
  await sleep(REST_MS * 3);
  assert.deepEqual(sent, [at(3)]);
});

void test('a move that came with an edit (typing, an accepted suggestion) is not sent; the next plain move is', async () => {
  const { sent, move } = harness();
  move(at(1));
  await sleep(REST_MS * 3);
  move(at(1, 2)); // typed: a new version
  move(at(1, 3));
  await sleep(REST_MS * 3);
  assert.deepEqual(sent, [at(1)]);
  move(at(7, 3)); // then a click elsewhere, no edit
  await sleep(REST_MS * 3);
  assert.deepEqual(sent, [at(1), at(7, 3)]);
});

void test('nothing is sent when the cursor or the document changed before the rest time, or after dispose', async () => {
  const sent: CursorAt[] = [];
  const rest = new CursorRest((to) => sent.push(to), REST_MS);
  let current: CursorAt | null = at(4);
  rest.moved(at(4), () => current);
  current = at(4, 2); // edited without a cursor event (a formatter)
  await sleep(REST_MS * 3);
  rest.moved(at(5, 2), () => current); // the move after that edit: an edit's move
  current = at(6, 2);
  rest.moved(at(6, 2), () => current); // a plain move, but the extension goes away before the rest time
  rest.dispose();
  await sleep(REST_MS * 3);
  assert.deepEqual(sent, []);
});
