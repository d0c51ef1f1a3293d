// The draft head's vocabulary: the most frequent tokens by the tokenizer's own ranking, end and FIM tokens always.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { draftCorpus, draftVocabulary, tokenCounts } from '../../server/model/draftVocabulary.js';
import { generateCheckpoint } from '../support/checkpoints.js';

/** The generated checkpoints' byte-level BPE tokenizer (byte b is token id b). */
function byteLevelTokenizer(): object {
  const { dir } = generateCheckpoint({ family: 'llama3', numLayers: 1 });
  return JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as object;
}

// a byte-level BPE: 4 base symbols, merges learnt in frequency order, one added token
const bpe = {
  model: {
    type: 'BPE',
    vocab: { a: 0, b: 1, c: 2, d: 3, '<eos>': 4, cd: 5, ab: 6, abcd: 7, dd: 8, ba: 9 },
    merges: ['a b', 'c d', 'ab cd', 'b a', 'd d'],
  },
  added_tokens: [{ id: 4 }],
};

void test('BPE: base symbols, then tokens in the order their merges were learnt; added and end tokens always', () => {
  // rank: base a b c d; merges ab (0), cd (1), abcd (2), ba (3), dd (4)
  assert.deepEqual(draftVocabulary(bpe, 10, 6, []), [0, 1, 2, 3, 4, 6]); // <eos> (added) + a b c d + ab
  assert.deepEqual(draftVocabulary(bpe, 10, 8, [8]), [0, 1, 2, 3, 4, 5, 6, 8]); // dd forced in
  assert.deepEqual(draftVocabulary({ ...bpe, model: { ...bpe.model, merges: bpe.model.merges.map((m) => m.split(' ') as [string, string]) } }, 10, 6, []), [0, 1, 2, 3, 4, 6]);
});

void test('tokens counted in a code sample come first, most frequent first; the tokenizer order fills the rest', () => {
  const counts = new Map([[9, 50], [8, 70], [7, 3]]);
  assert.deepEqual(draftVocabulary(bpe, 10, 6, [], counts), [0, 1, 4, 7, 8, 9]); // <eos>, dd, ba, abcd, then a, b
});

void test('the shipped code sample tokenizes, and ranks common code tokens first', () => {
  const corpus = draftCorpus();
  assert.ok(corpus.length > 100_000, 'media/draft-corpus.txt holds a real sample');
  const tokenizer = byteLevelTokenizer();
  const counts = tokenCounts(tokenizer, {}, corpus);
  const space = 32; // the byte-level tokenizer's id of ' ' is its byte value
  assert.ok((counts.get(space) ?? 0) > 1000);
});

void test('a vocabulary no larger than the draft head needs no draft head', () => {
  assert.equal(draftVocabulary(bpe, 10, 10, []), null);
  assert.equal(draftVocabulary(bpe, 10, 64, []), null);
});

void test('Unigram: by score; unknown models: by id', () => {
  const unigram = { model: { type: 'Unigram', vocab: [['x', -5], ['y', -1], ['z', -3], ['w', -2]] as [string, number][] } };
  assert.deepEqual(draftVocabulary(unigram, 4, 2, []), [1, 3]);
  assert.deepEqual(draftVocabulary({}, 5, 3, [4]), [0, 1, 4]);
});
