// Hugging Face Llama checkpoint -> LayerSkip model package (docs/model-package.md). Streams tensor by tensor (a few
// megabytes at a time), writes everything into a temporary folder next to the destination and renames it at the
// end, so a failure never leaves a half-written package.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from './config.js';
import { openHfCheckpoint, tensorOf, type HfCheckpoint } from './checkpoint.js';
import type { KvCacheDtype } from '../backend/kvCache.js';
import { DEFAULT_DRAFT_VOCABULARY, draftCorpus, draftVocabulary, tokenCounts } from './draftVocabulary.js';
import { FORMAT, FORMAT_VERSION, layerWeightName, type FimTokens, type Manifest } from './manifest.js';
import type { SegmentLayerTensor } from './segmentGraphs.js';
import { EMBEDDING, FINAL_NORM, layerTensorName, LM_HEAD, type LayerTensor } from './tensorNames.js';
import { selectedRows, stackedRows, tensorRows, WeightsFileWriter, type RowSource, type WeightRef } from './weightsFile.js';
import { quantBits, type PackageDtype } from './weightEncoding.js';

export interface ConvertOptions {
  dtype: PackageDtype;
  /**
   * The token embedding's and LM head's dtype (default: `dtype`). A tied head is also the largest matmul and the
   * one whose rounding reaches the logits directly: int4 packages of the default model keep it at int8.
   */
  embeddingDtype?: PackageDtype;
  /** Replace an existing destination. */
  force?: boolean;
  /**
   * Stored in the manifest as the suggested E and d. Defaults: the checkpoint's layerskip.json (written by our
   * training's evaluation), else about a quarter of the layers and 6.
   */
  recommendedExitLayer?: number;
  recommendedDraftLength?: number;
  onProgress?: (message: string) => void;
  /**
   * int8/int4: quantize activations to int8 inside MatMulNBits (default true: onnxruntime's fast integer kernels);
   * false keeps float activations (slower, exactly the dequantized weights' arithmetic).
   */
  quantizedActivations?: boolean;
  /** Checked between layers (the work in between is synchronous); an abort removes the partial package. */
  signal?: AbortSignal;
  /**
   * false: prompts stay prefix-only although the tokenizer has FIM tokens (a model whose infilling is worse than its
   * plain completion: the bundled one); the FIM tokens become end tokens, since nothing after one is plain code.
   */
  fimPrompts?: boolean;
  /**
   * How the engine caches keys and values (default: float32 for fp32 packages, float16 otherwise). float16 halves
   * what every token reads at long contexts; float32 keeps an fp32 package exactly the checkpoint's arithmetic.
   */
  kvCache?: KvCacheDtype;
  /** Rows of the draft head (default DEFAULT_DRAFT_VOCABULARY); at least the vocabulary size means the full head. */
  draftVocabulary?: number;
}

/** How the package's fused layer tensors are made of the checkpoint's. */
const FUSED_LAYER_TENSORS: Record<SegmentLayerTensor, readonly LayerTensor[]> = {
  input_layernorm: ['input_layernorm'],
  qkv_proj: ['q_proj', 'k_proj', 'v_proj'],
  o_proj: ['o_proj'],
  post_attention_layernorm: ['post_attention_layernorm'],
  gate_up_proj: ['gate_proj', 'up_proj'],
  down_proj: ['down_proj'],
};

export function defaultKvCache(dtype: PackageDtype): KvCacheDtype {
  return dtype === 'fp32' ? 'float32' : 'float16';
}

const WEIGHTS_FILE = 'weights.bin';

export async function convertCheckpoint(checkpointDir: string, outDir: string, options: ConvertOptions): Promise<Manifest> {
  const checkpoint = openHfCheckpoint(checkpointDir);
  const tokenizer = readTokenizer(checkpoint);
  const out = resolve(outDir);
  if (existsSync(out) && !options.force) throw new Error(`${out} already exists (use --force to replace it)`);
  const recommendation = recommendedSettings(checkpoint, options);
  mkdirSync(dirname(out), { recursive: true });
  const temp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  try {
    const manifest = await writePackage(checkpoint, temp, options, tokenizer, recommendation);
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(temp, out);
    return manifest;
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

type Recommendation = Manifest['layerskip'];

/** E and d for the manifest: explicit options, else the checkpoint's layerskip.json, else generic defaults. */
function recommendedSettings(checkpoint: HfCheckpoint, options: ConvertOptions): Recommendation {
  const file = join(checkpoint.dir, 'layerskip.json');
  const fromCheckpoint: Partial<Recommendation> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Recommendation>) : {};
  const numLayers = checkpoint.config.numLayers;
  const exitLayer = options.recommendedExitLayer ?? fromCheckpoint.recommendedExitLayer ?? Math.max(1, Math.round(numLayers / 4));
  const draftLength = options.recommendedDraftLength ?? fromCheckpoint.recommendedDraftLength ?? 6;
  if (!Number.isInteger(exitLayer) || exitLayer < 1 || exitLayer > numLayers) {
    throw new ConfigError(`recommended exit layer ${exitLayer} must be in [1, ${numLayers}]`);
  }
  if (!Number.isInteger(draftLength) || draftLength < 1) {
    throw new ConfigError(`recommended draft length ${draftLength} must be a positive integer`);
  }
  return { recommendedExitLayer: exitLayer, recommendedDraftLength: draftLength };
}

/** Lets signal handlers (Ctrl-C) and timers run between layers, then honours an abort. */
async function checkpointForAbort(signal: AbortSignal | undefined): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

async function writePackage(
  checkpoint: HfCheckpoint,
  dir: string,
  options: ConvertOptions,
  tokenizer: TokenizerFiles,
  recommendation: Recommendation,
): Promise<Manifest> {
  const { config } = checkpoint;
  const progress = options.onProgress ?? (() => {});
  const started = Date.now();
  const weights = new WeightsFileWriter(join(dir, WEIGHTS_FILE));
  const status = (what: string): void =>
    progress(`${what} (${(weights.bytesWritten / 2 ** 20).toFixed(0)} MiB written, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const quantizedActivations = options.quantizedActivations ?? true;
  const kvCache = options.kvCache ?? defaultKvCache(options.dtype);
  const tensors: Record<string, WeightRef> = {};
  const fim = options.fimPrompts === false ? null : tokenizer.fim;
  const fimAsEnd = tokenizer.fim && !fim ? Object.values(tokenizer.fim.ids) : [];
  const endTokens = [...config.eosTokenIds, ...fimAsEnd];
  const draftSize = options.draftVocabulary ?? DEFAULT_DRAFT_VOCABULARY;
  const draftIds =
    config.vocabSize <= draftSize
      ? null
      : draftVocabulary(
          tokenizer.json,
          config.vocabSize,
          draftSize,
          [...endTokens, ...(tokenizer.fim ? Object.values(tokenizer.fim.ids) : [])],
          tokenCounts(tokenizer.json, tokenizer.config ? (JSON.parse(readFileSync(tokenizer.config, 'utf8')) as object) : {}, draftCorpus()),
        );
  let embedding: WeightRef;
  try {
    const embeddingDtype = options.embeddingDtype ?? options.dtype;
    embedding = weights.write(tensorOf(checkpoint, EMBEDDING), embeddingDtype);
    status('embedding');
    for (let l = 0; l < config.numLayers; l++) {
      await checkpointForAbort(options.signal);
      for (const [fused, parts] of Object.entries(FUSED_LAYER_TENSORS) as [SegmentLayerTensor, readonly LayerTensor[]][]) {
        const source = stackedRows(parts.map((t) => tensorRows(tensorOf(checkpoint, layerTensorName(l, t)))));
        tensors[layerWeightName(l, fused)] = weights.write(source, fused.endsWith('layernorm') ? 'fp32' : options.dtype);
      }
      status(`layer ${l + 1}/${config.numLayers}`);
    }
    tensors.norm = weights.write(tensorOf(checkpoint, FINAL_NORM), 'fp32');
    // a tied head reads the embedding's bytes: stored once
    const head: RowSource = tensorRows(tensorOf(checkpoint, config.tieWordEmbeddings ? EMBEDDING : LM_HEAD));
    tensors.lm_head = config.tieWordEmbeddings ? embedding : weights.write(head, embeddingDtype);
    // quantization is per row, so these rows are bit for bit the full head's
    if (draftIds) tensors.draft_head = weights.write(selectedRows(head, draftIds), embeddingDtype);
    status('head');
  } finally {
    weights.close();
  }
  copyFileSync(tokenizer.file, join(dir, 'tokenizer.json'));
  if (tokenizer.config) copyFileSync(tokenizer.config, join(dir, 'tokenizer_config.json'));
  const manifest: Manifest = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    architecture: 'llama',
    dtype: options.dtype,
    config: { ...config, eosTokenIds: endTokens },
    activations: quantBits(options.dtype) !== null && quantizedActivations ? 'int8' : 'fp32',
    kvCache,
    embedding: {
      dtype: options.embeddingDtype ?? options.dtype,
      offset: embedding.offset,
      length: embedding.length,
      ...(embedding.kind === 'nbits' ? { scalesOffset: embedding.scales.offset } : {}),
      ...(embedding.kind === 'nbits' && embedding.biases ? { biasesOffset: embedding.biases.offset } : {}),
    },
    weights: WEIGHTS_FILE,
    tensors,
    draftHead: draftIds ? { ids: draftIds } : null,
    tokenizer: { file: 'tokenizer.json', config: tokenizer.config ? 'tokenizer_config.json' : null, fim },
    layerskip: recommendation,
    source: {
      checkpoint: typeof checkpoint.rawConfig._name_or_path === 'string' ? checkpoint.rawConfig._name_or_path : resolve(checkpoint.dir),
      revision: null,
      convertedAt: new Date().toISOString(),
    },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

interface TokenizerFiles {
  file: string;
  /** tokenizer.json, parsed */
  json: object;
  config: string | null;
  fim: FimTokens | null;
}

/** Finds the tokenizer files and CodeLlama-style infilling tokens (`<PRE>` or `▁<PRE>` ...) among the added tokens. */
function readTokenizer(checkpoint: HfCheckpoint): TokenizerFiles {
  const file = join(checkpoint.dir, 'tokenizer.json');
  if (!existsSync(file)) {
    throw new ConfigError(`${checkpoint.dir}: no tokenizer.json (a Hugging Face "fast" tokenizer file is required)`);
  }
  let json: { added_tokens?: { id: number; content: string }[] };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const added = json.added_tokens ?? [];
  for (const token of added) {
    if (token.id >= checkpoint.config.vocabSize) {
      throw new ConfigError(`${file}: token ${JSON.stringify(token.content)} has id ${token.id} >= vocab_size ${checkpoint.config.vocabSize}`);
    }
  }
  const configFile = join(checkpoint.dir, 'tokenizer_config.json');
  return { file, json, config: existsSync(configFile) ? configFile : null, fim: infillingTokens(added) };
}

/** CodeLlama-style infilling tokens (`<PRE>` or `▁<PRE>`, `<SUF>`, `<MID>`, `<EOT>`) among a tokenizer's added tokens. */
export function infillingTokens(added: readonly { id: number; content: string }[]): FimTokens | null {
  const find = (tag: string): { id: number; content: string } | undefined =>
    added.find((t) => t.content === `<${tag}>` || t.content === `▁<${tag}>`);
  const [prefix, suffix, middle, eot] = ['PRE', 'SUF', 'MID', 'EOT'].map(find);
  return prefix && suffix && middle && eot
    ? {
        prefix: prefix.content,
        suffix: suffix.content,
        middle: middle.content,
        eot: eot.content,
        ids: { prefix: prefix.id, suffix: suffix.id, middle: middle.id, eot: eot.id },
      }
    : null;
}
