import type { ModelConfig } from '../model/config.js';
import type { KvCache, KvCacheDtype } from './kvCache.js';

/**
 * What the decode loop needs from a model: embed, run a block of layers, apply the shared norm + head.
 * Implemented by the ONNX package (onnxBackend.ts, the product) and by the reference forward (tests' oracle).
 *
 * Positions are implicit: a block of layers [from, to) processes S new tokens at positions
 * [cache.length(from), cache.length(from) + S), and appends their keys/values to the cache of each layer it runs.
 */
export interface LayerBackend {
  readonly config: ModelConfig;
  /** How the caches given to runLayers store rows (newKvCache(backend) makes a matching one). */
  readonly kvCacheDtype: KvCacheDtype;
  /** Token ids -> residual stream rows. Returns [S, hidden]. */
  embed(tokens: readonly number[]): Float32Array;
  /** Runs layers [from, to) over `hidden` ([S, hidden]); appends S rows to each of those layers' caches. */
  runLayers(from: number, to: number, hidden: Float32Array, cache: KvCache): Promise<Float32Array>;
  /** Final norm + LM head over `hidden` ([S, hidden]). Returns [S, vocab] logits. */
  logits(hidden: Float32Array): Promise<Float32Array>;
  /** Final norm + LM head + argmax: greedy decoding needs only the ids. Returns [S]. */
  argmax(hidden: Float32Array): Promise<Int32Array>;
  dispose(): Promise<void>;
}
