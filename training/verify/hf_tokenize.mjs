// Token ids from the imported tokenizer.json through @huggingface/tokenizers (the library the extension uses).
//
//   node hf_tokenize.mjs <hf-or-package-dir> <texts.json> <out.json>
//
// texts.json: { "<name>": "<text>" } -> out.json: { "<name>": [ids] } (no special tokens added: SmolLM2 adds no BOS).
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, textsPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node hf_tokenize.mjs <dir with tokenizer.json> <texts.json> <out.json>');
  process.exit(2);
}
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const tokenizer = new Tokenizer(readJson(join(dir, 'tokenizer.json')), readJson(join(dir, 'tokenizer_config.json')));
const out = {};
for (const [name, text] of Object.entries(readJson(textsPath))) {
  out[name] = tokenizer.encode(text, { add_special_tokens: false }).ids;
}
writeFileSync(outPath, JSON.stringify(out));
