// manifest.json of a model package (docs/model-package.md): its type, and reading it back with clear errors.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KV_CACHE_DTYPES, type KvCacheDtype } from '../backend/kvCache.js';
import type { ModelConfig } from './config.js';
import { PACKAGE_DTYPES, type PackageDtype } from './weightEncoding.js';
import type { WeightRef } from './weightsFile.js';
import { SEGMENT_LAYER_TENSORS, type SegmentLayerTensor } from './segmentGraphs.js';

export const FORMAT = 'layerskip-onnx';
// 2: head-major cache inputs past_key_h/past_value_h [P, D] and an [S, S] mask (split attention)
// 3: two graphs per layer (q/k/v, then attention + MLP over the cache holding the new rows: no Concat of the past)
// 4: manifest.kvCache; float16 caches make key/value graph outputs and inputs float16 (version 3 is float32)
// 5: no graph files: a weight table (fused q/k/v and gate/up) from which the engine builds one graph per segment of
//    layers when it loads or the exit layer changes; a draft head over the most frequent tokens
export const FORMAT_VERSION = 5;

export interface FimTokens {
  prefix: string;
  suffix: string;
  middle: string;
  eot: string;
  /** Their ids in the vocabulary. */
  ids: { prefix: number; suffix: number; middle: number; eot: number };
}

export interface EmbeddingLayout {
  dtype: PackageDtype;
  /** Byte offset of row 0 in weights.bin; rows are [vocab, hidden] in `dtype` (see weightEncoding.ts). */
  offset: number;
  length: number;
  /** int8/int4: offset of the float32 scales [vocab, hidden/32]. */
  scalesOffset?: number;
  /** int4: offset of the float32 block biases [vocab, hidden/32] (asymmetric blocks). */
  biasesOffset?: number;
}

export interface Manifest {
  format: typeof FORMAT;
  formatVersion: typeof FORMAT_VERSION;
  architecture: 'llama';
  dtype: PackageDtype;
  config: ModelConfig;
  /** How int8/int4 matmuls treat activations: quantized per block of 32 (fast integer kernels) or float. */
  activations: 'fp32' | 'int8';
  /** How the engine caches keys and values; the q/k/v graphs return them in it and attention reads them in it. */
  kvCache: KvCacheDtype;
  embedding: EmbeddingLayout;
  weights: string;
  /**
   * Where each weight lives in `weights`: `layers.<l>.<tensor>` for SEGMENT_LAYER_TENSORS (segmentGraphs.ts),
   * `norm`, `lm_head` (the embedding's entry when tied) and, with a draft vocabulary, `draft_head`.
   */
  tensors: Record<string, WeightRef>;
  /**
   * The draft head: the LM head's rows for the `ids` most frequent tokens (ids in that order). null when the
   * vocabulary is small enough that the draft uses the full head.
   */
  draftHead: { ids: number[] } | null;
  tokenizer: { file: string; config: string | null; fim: FimTokens | null };
  layerskip: { recommendedExitLayer: number; recommendedDraftLength: number };
  source: { checkpoint: string; revision: string | null; convertedAt: string };
}

export class PackageError extends Error {
  override name = 'PackageError';
}

/** Reads and checks a package's manifest: format, version, and that the files it names exist. */
export function readManifest(dir: string): Manifest {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) throw new PackageError(`${dir}: no manifest.json (not a LayerSkip model package?)`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (error) {
    throw new PackageError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (manifest.format !== FORMAT) throw new PackageError(`${file}: format is ${JSON.stringify(manifest.format)}, expected "${FORMAT}"`);
  if (manifest.formatVersion !== FORMAT_VERSION) {
    const older = typeof manifest.formatVersion === 'number' && manifest.formatVersion < FORMAT_VERSION;
    throw new PackageError(
      older
        ? `${dir}: this model package has format ${manifest.formatVersion}, written by an older converter; this build reads format ${FORMAT_VERSION}. ` +
            `Convert it again: layerskip convert <checkpoint> ${dir} --force (the bundled model: npm run setup-model)`
        : `${file}: format version ${manifest.formatVersion} is not supported (this build reads ${FORMAT_VERSION}); update the extension`,
    );
  }
  if (!KV_CACHE_DTYPES.includes(manifest.kvCache)) throw new PackageError(`${file}: unknown kvCache ${JSON.stringify(manifest.kvCache)}`);
  if (!PACKAGE_DTYPES.includes(manifest.dtype)) throw new PackageError(`${file}: unknown dtype ${JSON.stringify(manifest.dtype)}`);
  if (manifest.embedding?.dtype === 'int4' && manifest.embedding.biasesOffset === undefined) {
    // the first int4 format was symmetric (no block biases): its embedding rows cannot be decoded as asymmetric
    throw new PackageError(`${file}: int4 package without block biases (an older symmetric int4 format); convert it again`);
  }
  const missing = requiredTensors(manifest).filter((name) => manifest.tensors?.[name] === undefined);
  if (missing.length > 0) throw new PackageError(`${file}: the weight table lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`);
  const draftIds = manifest.draftHead?.ids;
  if (
    draftIds !== undefined &&
    (!Array.isArray(draftIds) ||
      draftIds.length !== manifest.tensors.draft_head.rows ||
      draftIds.some((id) => !Number.isInteger(id) || id < 0 || id >= manifest.config.vocabSize))
  ) {
    throw new PackageError(`${file}: draftHead.ids must list one vocabulary id per row of the draft head`);
  }
  for (const name of [manifest.weights, manifest.tokenizer.file]) {
    if (!existsSync(join(dir, name))) throw new PackageError(`${dir}: ${name} named by manifest.json is missing`);
  }
  const needed = Math.max(...Object.values(manifest.tensors).map(weightEnd));
  const size = statSync(join(dir, manifest.weights)).size;
  if (size < needed) {
    throw new PackageError(`${dir}: ${manifest.weights} is truncated (${size} bytes; the weight table needs ${needed}): download or convert it again`);
  }
  return manifest;
}

/** The end of a weight's last byte region in the weights file. */
function weightEnd(ref: WeightRef): number {
  const regions = [ref, ...(ref.kind === 'nbits' ? [ref.scales, ...(ref.biases ? [ref.biases] : [])] : [])];
  return Math.max(...regions.map((r) => r.offset + r.length));
}

function requiredTensors(manifest: Manifest): string[] {
  const names = ['norm', 'lm_head', ...(manifest.draftHead ? ['draft_head'] : [])];
  for (let l = 0; l < (manifest.config?.numLayers ?? 0); l++) for (const t of SEGMENT_LAYER_TENSORS) names.push(layerWeightName(l, t));
  return names;
}

/** The weight table's key of a layer tensor. */
export function layerWeightName(layer: number, tensor: SegmentLayerTensor): string {
  return `layers.${layer}.${tensor}`;
}
