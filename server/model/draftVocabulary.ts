// Which tokens the draft head can propose: the K most frequent ones in code. Frequencies come from a code sample
// (media/draft-corpus.txt, tokenized with the model's own tokenizer); tokens the sample never shows follow in the
// tokenizer's own order: a BPE tokenizer's merges are learnt most-frequent-first (base symbols before every merge),
// a Unigram tokenizer's scores are log-probabilities. Measured on this project's code, held out from the ranking
// (half the files rank, the other half count): the 8192 most frequent by the sample cover 98.0% of the tokens, merge
// order alone 80.1%. The verifier keeps the full head, so a token outside the set costs a rejected draft, never a
// wrong output.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** Draft heads have this many rows by default (a sixth of SmolLM2's head, a sixteenth of Llama 3's). */
export const DEFAULT_DRAFT_VOCABULARY = 8192;

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number> | [string, number][]; merges?: (string | string[])[] };
  added_tokens?: { id: number }[];
}

/**
 * Ids of the `size` most frequent tokens, ascending: `always` ids (end tokens, FIM markers) and the added tokens
 * first, then by `counts` (token id -> occurrences in a code sample), then by the tokenizer's own order. null when the
 * vocabulary is not larger than `size`.
 */
export function draftVocabulary(
  tokenizer: TokenizerJson,
  vocabSize: number,
  size: number,
  always: readonly number[],
  counts: ReadonlyMap<number, number> = new Map(),
): number[] | null {
  if (vocabSize <= size) return null;
  const chosen = new Set<number>();
  const add = (id: number): void => {
    if (chosen.size < size && Number.isInteger(id) && id >= 0 && id < vocabSize) chosen.add(id);
  };
  always.forEach(add);
  (tokenizer.added_tokens ?? []).forEach((t) => add(t.id));
  [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).forEach(([id]) => add(id));
  for (const id of byTokenizerRank(tokenizer, vocabSize)) add(id);
  return [...chosen].sort((a, b) => a - b);
}

/** Occurrences of each token id in `text` under the tokenizer (tokenizer.json and tokenizer_config.json, parsed). */
export function tokenCounts(tokenizerJson: object, tokenizerConfig: object, text: string): Map<number, number> {
  const counts = new Map<number, number>();
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  for (const id of tokenizer.encode(text).ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** The code sample shipped with the extension (media/draft-corpus.txt, scripts/draft-corpus.sh), found upwards of this file. */
export function draftCorpus(): string {
  for (let dir = __dirname, up = 0; up < 4; dir = dirname(dir), up++) {
    const file = join(dir, 'media', 'draft-corpus.txt');
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error('media/draft-corpus.txt is missing (scripts/draft-corpus.sh writes it)');
}

/** Every vocabulary id, most frequent first by the tokenizer's own ranking (id order when it tells nothing). */
function byTokenizerRank(tokenizer: TokenizerJson, vocabSize: number): number[] {
  const model = tokenizer.model ?? {};
  const ids = Array.from({ length: vocabSize }, (_, id) => id);
  if (Array.isArray(model.vocab)) {
    // Unigram: [piece, log-probability] in id order
    const scores = model.vocab.map(([, score]) => score);
    return ids.sort((a, b) => (scores[b] ?? -Infinity) - (scores[a] ?? -Infinity) || a - b);
  }
  if (model.type !== 'BPE' || !model.vocab || !model.merges) return ids;
  const vocab = model.vocab;
  const rank = new Float64Array(vocabSize).fill(Infinity);
  model.merges.forEach((merge, index) => {
    const id = vocab[(typeof merge === 'string' ? merge.split(' ') : merge).join('')];
    if (id !== undefined && id < vocabSize) rank[id] = Math.min(rank[id], index);
  });
  // tokens no merge creates: base symbols (one character: the bytes) are the most frequent of all, the rest last
  for (const [token, id] of Object.entries(vocab)) {
    if (id < vocabSize && rank[id] === Infinity) rank[id] = [...token].length === 1 ? -1 : model.merges.length;
  }
  return ids.sort((a, b) => rank[a] - rank[b] || a - b);
}
