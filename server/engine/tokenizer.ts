/** The package's tokenizer.json (+ tokenizer_config.json) through @huggingface/tokenizers. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** What the engine needs from a tokenizer: text <-> ids, nothing else. */
export interface TextCodec {
  encode(text: string): number[];
  decode(tokens: readonly number[]): string;
}

/**
 * Decodes tokens as they read after other text: after an anchor token, without the anchor's text. Decoders may treat
 * a sequence's first token differently (SentencePiece's strips its leading space), but generated tokens always
 * follow a prompt.
 */
export function continuationDecoder(codec: TextCodec): (tokens: readonly number[]) => string {
  const anchor = codec.encode('a').at(0);
  if (anchor === undefined) return (tokens) => (tokens.length === 0 ? '' : codec.decode(tokens)); // no anchor to be had
  const anchorLength = codec.decode([anchor]).length;
  return (tokens) => (tokens.length === 0 ? '' : codec.decode([anchor, ...tokens]).slice(anchorLength));
}

export class PackageTokenizer implements TextCodec {
  private constructor(private readonly tokenizer: Tokenizer) {}

  /** configFile may be null (a package without tokenizer_config.json). */
  static async load(tokenizerFile: string, configFile: string | null): Promise<PackageTokenizer> {
    return PackageTokenizer.fromJson(JSON.parse(await readFile(tokenizerFile, 'utf8')) as object, configFile);
  }

  /** A model package's tokenizer: the files its manifest names, inside its folder. */
  static inPackage(dir: string, files: { file: string; config: string | null }): Promise<PackageTokenizer> {
    return PackageTokenizer.load(join(dir, files.file), files.config === null ? null : join(dir, files.config));
  }

  /** From tokenizer.json already parsed (a caller that reads it for more than the tokenizer). */
  static async fromJson(json: object, configFile: string | null): Promise<PackageTokenizer> {
    const config = configFile === null ? {} : (JSON.parse(await readFile(configFile, 'utf8')) as object);
    return new PackageTokenizer(new Tokenizer(json, config));
  }

  /** Raw text to ids, without special tokens: the caller decides about BOS / FIM markers. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(tokens: readonly number[]): string {
    return this.decodeTokens(tokens, true);
  }

  /** Tokens as text with their special tokens spelled out (FIM markers): a prompt for a server that tokenizes text. */
  decodeWithSpecialTokens(tokens: readonly number[]): string {
    return this.decodeTokens(tokens, false);
  }

  private decodeTokens(tokens: readonly number[], skipSpecialTokens: boolean): string {
    if (tokens.length === 0) return ''; // the library throws on an empty list
    return this.tokenizer.decode([...tokens], { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false });
  }
}
