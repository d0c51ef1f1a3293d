// manifest.json of a model package (docs/model-package.md): its type, and reading it back with clear errors.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KV_CACHE_DTYPES, type KvCacheDtype } from '../engine/kvCache.js';
import type { ModelConfig } from './config.js';
import { PACKAGE_DTYPES, type PackageDtype } from './weightEncoding.js';

export const FORMAT = 'layerskip-onnx';
// 2: head-major cache inputs past_key_h/past_value_h [P, D] and an [S, S] mask (split attention)
// 3: two graphs per layer (q/k/v, then attention + MLP over the cache holding the new rows: no Concat of the past)
// 4: manifest.kvCache; float16 caches make key/value graph outputs and inputs float16 (version 3 is float32)
export const FORMAT_VERSION = 4;
const READABLE_VERSIONS = [3, FORMAT_VERSION];

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
  /** Per layer: RMSNorm + q/k/v + rotary (first half of the layer). */
  qkv: string[];
  /** Per layer: attention over the cache, o_proj, MLP (second half). */
  layers: string[];
  head: string;
  weights: string;
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
  if (!READABLE_VERSIONS.includes(manifest.formatVersion)) {
    throw new PackageError(`${file}: format version ${manifest.formatVersion} is not supported (this build reads ${READABLE_VERSIONS.join(' and ')}); convert it again`);
  }
  if ((manifest.formatVersion as number) === 3) manifest = { ...manifest, formatVersion: FORMAT_VERSION, kvCache: 'float32' };
  if (!KV_CACHE_DTYPES.includes(manifest.kvCache)) throw new PackageError(`${file}: unknown kvCache ${JSON.stringify(manifest.kvCache)}`);
  if (!PACKAGE_DTYPES.includes(manifest.dtype)) throw new PackageError(`${file}: unknown dtype ${JSON.stringify(manifest.dtype)}`);
  if (manifest.embedding?.dtype === 'int4' && manifest.embedding.biasesOffset === undefined) {
    // the first int4 format was symmetric (no block biases): its embedding rows cannot be decoded as asymmetric
    throw new PackageError(`${file}: int4 package without block biases (an older symmetric int4 format); convert it again`);
  }
  for (const key of ['qkv', 'layers'] as const) {
    if (!Array.isArray(manifest[key]) || manifest[key].length !== manifest.config?.numLayers) {
      throw new PackageError(`${file}: "${key}" must list config.numLayers graphs`);
    }
  }
  for (const name of [...manifest.qkv, ...manifest.layers, manifest.head, manifest.weights, manifest.tokenizer.file]) {
    if (!existsSync(join(dir, name))) throw new PackageError(`${dir}: ${name} named by manifest.json is missing`);
  }
  return manifest;
}
