// What a remote model needs locally to build its prompts: a tokenizer (token budgets, the prompt sent as text) and
// the fill-in-the-middle markers. From a model package (its manifest), or from a Hugging Face model folder holding
// just the tokenizer files (tokenizer.json, tokenizer_config.json, config.json; no weights): a team serving a 34B
// model needs only its tokenizer on the laptop.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackageTokenizer } from '../engine/tokenizer.js';
import { infillingTokens } from '../model/convert.js';
import { readManifest, type FimTokens } from '../model/manifest.js';

export interface PromptSide {
  codec: PackageTokenizer;
  fim: FimTokens | null;
  bosTokenId: number | null;
  /** From the package or config.json; 0 when a tokenizer-only folder does not say. */
  numLayers: number;
}

export async function loadPromptSide(dir: string): Promise<PromptSide> {
  if (existsSync(join(dir, 'manifest.json'))) {
    const manifest = readManifest(dir);
    const codec = await PackageTokenizer.inPackage(dir, manifest.tokenizer);
    return { codec, fim: manifest.tokenizer.fim, bosTokenId: manifest.config.bosTokenId, numLayers: manifest.config.numLayers };
  }
  const tokenizerFile = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerFile)) {
    throw new Error(`${dir} is neither a model package (manifest.json) nor a Hugging Face model folder with a tokenizer.json: the prompts for the remote model are built with its tokenizer (layerskip.modelPath)`);
  }
  const configFile = join(dir, 'tokenizer_config.json');
  const json = JSON.parse(readFileSync(tokenizerFile, 'utf8')) as { added_tokens?: { id: number; content: string }[] };
  const codec = await PackageTokenizer.fromJson(json, existsSync(configFile) ? configFile : null);
  const added = json.added_tokens ?? [];
  const modelConfig = existsSync(join(dir, 'config.json')) ? (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { num_hidden_layers?: unknown }) : {};
  // BOS is the server's to add: the remote engine leaves it out of the text it sends
  return { codec, fim: infillingTokens(added), bosTokenId: null, numLayers: typeof modelConfig.num_hidden_layers === 'number' ? modelConfig.num_hidden_layers : 0 };
}
