// Generation control: streaming and stop conditions (EOS, stop strings, max tokens, time budget), cancellation
// within one step, prompt-cache re-use (identical logits to a cold run), clear errors for bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../server/engine/engine.js';
import { PREFILL_CHUNK, prefill, type DecodeState } from '../../server/engine/decode.js';
import { newKvCache } from '../../server/backend/kvCache.js';
import { PromptCache } from '../../server/engine/promptCache.js';
import { StageClock } from '../../server/engine/stats.js';
import { GreedyChooser } from '../../server/engine/tokenChoice.js';
import { TextStream } from '../../server/engine/textStream.js';
import type { TextCodec } from '../../server/engine/tokenizer.js';
import { nextTokenLogits, randomPrompts, referenceEngine } from './engine-fixtures.js';

/** One character per token: ids are char codes. */
const charCodec: TextCodec = {
  encode: (text) => [...text].map((c) => c.charCodeAt(0)),
  decode: (tokens) => String.fromCharCode(...tokens),
};
const ids = (text: string): number[] => charCodec.encode(text);

void describe('TextStream', () => {
  void it('releases text at once when no stop string can start there', () => {
    const stream = new TextStream(charCodec, ['\n\n']);
    assert.deepEqual(stream.push(ids('ab')), { delta: 'ab', stopped: false });
    assert.deepEqual(stream.push(ids('c\n')), { delta: 'c', stopped: false }); // '\n' may start '\n\n'
    assert.deepEqual(stream.push(ids('d')), { delta: '\nd', stopped: false });
  });

  void it('stops before a stop string split across tokens and never releases it', () => {
    const stream = new TextStream(charCodec, ['END', 'xy']);
    const deltas = ['foo', 'E', 'N', 'D', 'bar'].map((piece) => stream.push(ids(piece)));
    assert.deepEqual(deltas.map((d) => d.delta).join(''), 'foo');
    assert.equal(deltas[3].stopped, true);
    assert.equal(stream.fullText, 'foo');
    assert.equal(stream.flush(), '');
  });

  void it('holds back an incomplete UTF-8 character (rendered U+FFFD) until it is complete', () => {
    const utf8: TextCodec = { encode: () => [], decode: (bytes) => new TextDecoder().decode(Uint8Array.from(bytes)) };
    const stream = new TextStream(utf8, []);
    assert.deepEqual(stream.push([0x61, 0xc3]), { delta: 'a', stopped: false });
    assert.deepEqual(stream.push([0xa9]), { delta: 'é', stopped: false });
  });

  void it('flush releases what was held for a stop string that never came', () => {
    const stream = new TextStream(charCodec, ['abc']);
    assert.equal(stream.push(ids('xab')).delta, 'x');
    assert.equal(stream.flush(), 'ab');
  });
});

void describe('generation control on a reference model', async () => {
  const { engine, backend, codec } = await referenceEngine({ family: 'llama3', numLayers: 4, seed: 21 });
  const prompt = randomPrompts(1, 12, 5)[0];
  const L = backend.config.numLayers;

  void it('streams every generated token once, in order, and the text is their detokenization', async () => {
    const streamed: number[] = [];
    let text = '';
    const result = await engine.generate(prompt, { maxNewTokens: 12, exitLayer: 2, draftLength: 3 }, {
      onText: (delta, tokens) => {
        text += delta;
        streamed.push(...tokens);
      },
    });
    assert.equal(result.stopReason, 'max-tokens');
    assert.equal(result.tokens.length, 12);
    assert.deepEqual(streamed, result.tokens);
    assert.equal(text, codec.decode(result.tokens));
    assert.equal(result.text, text);
  });

  void it('stops at a stop string with the text cut before it', async () => {
    const free = await engine.generate(prompt, { mode: 'full', maxNewTokens: 16 });
    const stop = free.text.slice(5, 7);
    const cut = free.text.indexOf(stop);
    const result = await engine.generate(prompt, { maxNewTokens: 16, exitLayer: 1, stopStrings: [stop] });
    assert.equal(result.stopReason, 'stop-string');
    assert.equal(result.text, free.text.slice(0, cut));
  });

  void it('stops at an end token without emitting it, in full and self-speculative mode', async () => {
    const free = await engine.generate(prompt, { mode: 'full', maxNewTokens: 16 });
    const end = free.tokens[6];
    const expected = free.tokens.slice(0, free.tokens.indexOf(end));
    const withEnd = new Engine({ backend, codec, device: 'reference', extraStopTokens: [end] });
    for (const params of [{ mode: 'full' as const }, { exitLayer: 3, draftLength: 8 }]) {
      const result = await withEnd.generate(prompt, { ...params, maxNewTokens: 16 });
      assert.equal(result.stopReason, 'eos');
      assert.deepEqual(result.tokens, expected);
    }
    const endFirst = new Engine({ backend, codec, device: 'reference', extraStopTokens: [free.tokens[0]] });
    const empty = await endFirst.generate(prompt, { maxNewTokens: 16 });
    assert.deepEqual([empty.tokens, empty.text, empty.stopReason], [[], '', 'eos']);
  });

  void it('a time budget stops the generation', async () => {
    const result = await engine.generate(prompt, { mode: 'full', maxNewTokens: 100000, timeBudgetMs: 50 });
    assert.equal(result.stopReason, 'time-budget');
    assert.ok(result.stats.totalMs < 1000, `took ${result.stats.totalMs} ms`);
  });

  void it('cancellation stops a generation within one step', async () => {
    const controller = new AbortController();
    let steps = 0;
    const result = await engine.generate(prompt, { maxNewTokens: 50, exitLayer: 2, draftLength: 4 }, {
      signal: controller.signal,
      onText: (_delta, tokens) => {
        if (tokens.length > 0) steps++;
        controller.abort();
      },
    });
    assert.equal(result.stopReason, 'cancelled');
    assert.equal(steps, 1);
    assert.equal(result.stats.steps, 1);
    const aborted = await engine.generate(prompt, {}, { signal: AbortSignal.abort() });
    assert.equal(aborted.stopReason, 'cancelled');
    assert.deepEqual(aborted.tokens, []);
  });

  void it('reuses a shared prompt prefix and produces the same tokens as a cold engine', async () => {
    const first = [...prompt, 1, 2, 3];
    const second = [...prompt, 7, 8];
    await engine.generate(first, { maxNewTokens: 4 });
    const warm = await engine.generate(second, { maxNewTokens: 8 });
    assert.equal(warm.stats.promptCacheHitTokens, prompt.length);
    const cold = await (await referenceEngine({ family: 'llama3', numLayers: 4, seed: 21 })).engine.generate(second, { maxNewTokens: 8 });
    assert.equal(cold.stats.promptCacheHitTokens, 0);
    assert.deepEqual(warm.tokens, cold.tokens);
  });

  void it('prompt-cache re-use gives the logits of a cold run, bit for bit', async () => {
    const promptCache = new PromptCache(newKvCache(backend));
    const stateFor = (tokens: number[]): DecodeState => {
      const clock = new StageClock();
      return { backend, cache: promptCache.cache, tokens, chooser: new GreedyChooser(clock, backend.config.vocabSize, false), clock, endTokens: [] };
    };
    const earlier = [...prompt, 40, 41, 42, 43];
    await prefill(stateFor([...earlier]), L);
    promptCache.remember(earlier);
    const next = [...prompt, 50, 51];
    assert.equal(promptCache.reuse(next, L), prompt.length);
    await prefill(stateFor(next), L);
    const pending = next[next.length - 1];
    const warm = (await backend.forward(0, L, backend.embed([pending]), promptCache.cache, { output: 'logits' })).logits;
    const cold = await nextTokenLogits(backend, next, L);
    assert.deepEqual(warm, cold);
  });

  void it('prefill in chunks gives the logits of one pass over the whole prompt', async () => {
    const long = randomPrompts(1, PREFILL_CHUNK * 2 + 7, 8)[0];
    const clock = new StageClock();
    const promptCache = new PromptCache(newKvCache(backend));
    const state: DecodeState = { backend, cache: promptCache.cache, tokens: long, chooser: new GreedyChooser(clock, backend.config.vocabSize, false), clock, endTokens: [] };
    await prefill(state, L);
    assert.equal(promptCache.cache.length(L - 1), long.length - 1);
    const chunked = (await backend.forward(0, L, backend.embed(long.slice(-1)), promptCache.cache, { output: 'logits' })).logits;
    assert.deepEqual(chunked, await nextTokenLogits(backend, long, L));
  });

  void it('rejects bad input with a message naming the problem', async () => {
    await assert.rejects(engine.generate(prompt, { mode: 'self-speculative', exitLayer: L }), /exitLayer must be an integer in \[1, 3\]/);
    await assert.rejects(engine.generate(prompt, { draftLength: 0 }), /draftLength/);
    await assert.rejects(engine.generate(prompt, { temperature: -1 }), /temperature/);
    await assert.rejects(engine.generate(prompt, { topP: 0 }), /topP/);
    await assert.rejects(engine.generate(prompt, { adaptiveDraft: true, draftConfidenceThreshold: 2 }), /draftConfidenceThreshold/);
    await assert.rejects(engine.generate([], {}), /prompt is empty/);
    await assert.rejects(engine.generate([backend.config.vocabSize], {}), /not an id/);
    const tooLong = new Array<number>(backend.config.maxPositionEmbeddings).fill(prompt[0]);
    await assert.rejects(engine.generate(tooLong, {}), /context holds \d+ positions/);
    // and the engine still works afterwards
    assert.equal((await engine.generate(prompt, { maxNewTokens: 2 })).tokens.length, 2);
  });
});
