// A tiny byte-level BPE tokenizer in Hugging Face tokenizer.json format: 256 byte tokens, a few merges (runs of
// spaces, `def`, `return`) and the family's special tokens. It encodes any text, as a real code tokenizer must.

export interface SpecialTokens {
  /** Special tokens given the lowest ids (Llama 2: <unk> <s> </s>). */
  before: string[];
  /** Special tokens after the byte tokens and merges (Llama 3's, CodeLlama's infilling tokens). */
  after: string[];
  bos: string;
  eos: string[];
}

export interface TinyTokenizer {
  vocabSize: number;
  ids: { bos: number; eos: number[] };
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

/** GPT-2's printable stand-ins for the 256 byte values (the ByteLevel pre-tokenizer's alphabet). */
function byteAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const alphabet = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    alphabet[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  }
  return alphabet;
}

const MERGES: [string, string][] = [
  ['Ġ', 'Ġ'],
  ['ĠĠ', 'ĠĠ'],
  ['d', 'e'],
  ['de', 'f'],
  ['r', 'e'],
  ['re', 't'],
  ['u', 'r'],
  ['ret', 'ur'],
  ['retur', 'n'],
];

export function byteLevelTokenizer(specials: SpecialTokens): TinyTokenizer {
  const vocab: Record<string, number> = {};
  const add = (token: string): number => (vocab[token] = Object.keys(vocab).length);
  specials.before.forEach(add);
  byteAlphabet().forEach(add);
  for (const [a, b] of MERGES) add(a + b);
  specials.after.forEach(add);
  const special = [...specials.before, ...specials.after];
  const addedTokens = special.map((content) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
  const tokenizerConfig = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: specials.bos,
    eos_token: specials.eos[0],
    model_max_length: 4096,
    tokenizer_class: 'PreTrainedTokenizerFast',
    clean_up_tokenization_spaces: false,
  };
  return {
    vocabSize: Object.keys(vocab).length,
    ids: { bos: vocab[specials.bos], eos: specials.eos.map((t) => vocab[t]) },
    tokenizerJson,
    tokenizerConfig,
  };
}
