// Which tokens the draft head can propose: the K most frequent ones, read from the tokenizer. A BPE tokenizer's
// merges are learnt most-frequent-first, so the rank of the merge that creates a token orders tokens by frequency
// in the tokenizer's training corpus (base symbols first); a Unigram tokenizer's scores are log-probabilities.
// The verifier keeps the full head, so a token outside this set costs a rejected draft, never a wrong output.

/** Draft heads have this many rows by default (a sixth of SmolLM2's head, a sixteenth of Llama 3's). */
export const DEFAULT_DRAFT_VOCABULARY = 8192;

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number> | [string, number][]; merges?: (string | string[])[] };
  added_tokens?: { id: number }[];
}

/**
 * Ids of the `size` most frequent tokens of `tokenizer` (a parsed tokenizer.json), ascending; `always` ids (end
 * tokens, FIM markers) and the added tokens are included first. null when the vocabulary is not larger than `size`.
 */
export function draftVocabulary(tokenizer: TokenizerJson, vocabSize: number, size: number, always: readonly number[]): number[] | null {
  if (vocabSize <= size) return null;
  const chosen = new Set<number>();
  const add = (id: number): void => {
    if (chosen.size < size && Number.isInteger(id) && id >= 0 && id < vocabSize) chosen.add(id);
  };
  always.forEach(add);
  (tokenizer.added_tokens ?? []).forEach((t) => add(t.id));
  for (const id of byFrequency(tokenizer, vocabSize)) add(id);
  return [...chosen].sort((a, b) => a - b);
}

/** Every vocabulary id, most frequent first (id order when the tokenizer tells nothing better). */
function byFrequency(tokenizer: TokenizerJson, vocabSize: number): number[] {
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
