// Hugging Face Llama checkpoint -> LayerSkip model package (docs/model-package.md). Streams tensor by tensor (a few
// megabytes at a time), writes everything into a temporary folder next to the destination and renames it at the
// end, so a failure never leaves a half-written package.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from './config.js';
import { openHfCheckpoint, tensorOf, type HfCheckpoint } from './checkpoint.js';
import type { KvCacheDtype } from '../engine/kvCache.js';
import { buildHeadGraph, buildLayerGraph, buildQkvGraph, type GraphOptions, type WeightRef } from './layerGraphs.js';
import { FORMAT, FORMAT_VERSION, type FimTokens, type Manifest } from './manifest.js';
import { EMBEDDING, FINAL_NORM, LAYER_TENSORS, layerTensorName, LM_HEAD, type LayerTensor } from './tensorNames.js';
import { WeightsFileWriter } from './weightsFile.js';
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
}

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
  const graphOptions: GraphOptions = {
    weightsFile: WEIGHTS_FILE,
    quantizedActivations: options.quantizedActivations ?? true,
    kvCache: options.kvCache ?? defaultKvCache(options.dtype),
  };
  const qkv: string[] = [];
  const layers: string[] = [];
  let embedding: WeightRef;
  let finalNorm: WeightRef;
  let lmHead: WeightRef;
  try {
    const embeddingDtype = options.embeddingDtype ?? options.dtype;
    embedding = weights.write(tensorOf(checkpoint, EMBEDDING), embeddingDtype);
    status('embedding');
    for (let l = 0; l < config.numLayers; l++) {
      await checkpointForAbort(options.signal);
      const refs = {} as Record<LayerTensor, WeightRef>;
      for (const t of LAYER_TENSORS) {
        const isNorm = t.endsWith('layernorm');
        refs[t] = weights.write(tensorOf(checkpoint, layerTensorName(l, t)), isNorm ? 'fp32' : options.dtype);
      }
      const file = `layer_${String(l).padStart(2, '0')}`;
      writeFileSync(join(dir, `${file}_qkv.onnx`), buildQkvGraph(config, l, refs, graphOptions));
      writeFileSync(join(dir, `${file}.onnx`), buildLayerGraph(config, l, refs, graphOptions));
      qkv.push(`${file}_qkv.onnx`);
      layers.push(`${file}.onnx`);
      status(`layer ${l + 1}/${config.numLayers}`);
    }
    finalNorm = weights.write(tensorOf(checkpoint, FINAL_NORM), 'fp32');
    // a tied head reads the embedding's bytes: stored once, loaded once (by the head session)
    lmHead = config.tieWordEmbeddings ? embedding : weights.write(tensorOf(checkpoint, LM_HEAD), embeddingDtype);
  } finally {
    weights.close();
  }
  writeFileSync(join(dir, 'head.onnx'), buildHeadGraph(config, finalNorm, lmHead, graphOptions));
  status('head');
  copyFileSync(tokenizer.file, join(dir, 'tokenizer.json'));
  if (tokenizer.config) copyFileSync(tokenizer.config, join(dir, 'tokenizer_config.json'));
  const fim = options.fimPrompts === false ? null : tokenizer.fim;
  const fimAsEnd = tokenizer.fim && !fim ? Object.values(tokenizer.fim.ids) : [];
  const manifest: Manifest = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    architecture: 'llama',
    dtype: options.dtype,
    config: { ...config, eosTokenIds: [...config.eosTokenIds, ...fimAsEnd] },
    activations: quantBits(options.dtype) !== null && graphOptions.quantizedActivations ? 'int8' : 'fp32',
    kvCache: graphOptions.kvCache,
    embedding: {
      dtype: options.embeddingDtype ?? options.dtype,
      offset: embedding.offset,
      length: embedding.length,
      ...(embedding.kind === 'nbits' ? { scalesOffset: embedding.scales.offset } : {}),
      ...(embedding.kind === 'nbits' && embedding.biases ? { biasesOffset: embedding.biases.offset } : {}),
    },
    qkv,
    layers,
    head: 'head.onnx',
    weights: WEIGHTS_FILE,
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
  const find = (tag: string): { id: number; content: string } | undefined =>
    added.find((t) => t.content === `<${tag}>` || t.content === `▁<${tag}>`);
  const [prefix, suffix, middle, eot] = ['PRE', 'SUF', 'MID', 'EOT'].map(find);
  const fim =
    prefix && suffix && middle && eot
      ? {
          prefix: prefix.content,
          suffix: suffix.content,
          middle: middle.content,
          eot: eot.content,
          ids: { prefix: prefix.id, suffix: suffix.id, middle: middle.id, eot: eot.id },
        }
      : null;
  const configFile = join(checkpoint.dir, 'tokenizer_config.json');
  return { file, config: existsSync(configFile) ? configFile : null, fim };
}
