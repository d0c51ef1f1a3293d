import type { ModelConfig } from '../model/config.js';
import type { DecodingMode } from '../protocol.js';
import type { KvCache, KvCacheDtype } from './kvCache.js';

/**
 * How a backend groups its layers for the decode loop: runs of layers split at `exitLayer`, the run [0, E) ending in
 * `exitHead` (the draft head over the most frequent tokens, or the full LM head), and, when `remainder`, the run
 * [E, L) ending in the full head. exitLayer = L with no remainder is plain decoding.
 */
export interface LayerPlan {
  exitLayer: number;
  exitHead: 'draft' | 'full';
  remainder: boolean;
  /**
   * Calibration: the run ending at exitLayer also reports the draft head's choice after every earlier layer
   * (ForwardResult.exitIds), so one teacher-forced pass measures every exit layer at once.
   */
  everyExit?: boolean;
}

/** What a forward pass should also compute at its last layer: the head's argmax ids, or logits too. */
export interface HeadRequest {
  output: 'ids' | 'logits';
}

export interface ForwardResult {
  /** [S, hidden]: the residual stream leaving the last layer run. */
  hidden: Float32Array;
  /** [S]: the head's choice for each row, as vocabulary ids (empty without a head request). */
  ids: Int32Array;
  /** [S, columns] when logits were asked for. */
  logits: Float32Array | null;
  /** The vocabulary id of each logits column (a draft head's subset); null when the columns are the vocabulary. */
  logitIds: Int32Array | null;
  /**
   * With a plan's `everyExit`, a head request and a run from layer 0: [to - 1, S], row l - 1 the draft head's choice
   * (vocabulary ids) for each row after layer l, for l in [1, to). Null otherwise.
   */
  exitIds: Int32Array | null;
}

/**
 * What the decode loop needs from a model: embed, and run a block of layers that may end in a head.
 * Implemented by the ONNX package (onnxBackend.ts, the product) and by the reference forward (tests' oracle).
 *
 * Positions are implicit: a block of layers [from, to) processes S new tokens at positions
 * [cache.length(from), cache.length(from) + S), and appends their keys/values to the cache of each layer it runs.
 * The head at layer `to` is the plan's: the full head at L, `plan.exitHead` at the exit layer.
 */
export interface LayerBackend {
  readonly config: ModelConfig;
  /** How the caches given to forward store rows (newKvCache(backend) makes a matching one). */
  readonly kvCacheDtype: KvCacheDtype;
  /** Groups the layers for `plan` (the ONNX backend builds its sessions: about a second); a no-op when unchanged. */
  arrange(plan: LayerPlan): Promise<void>;
  /** Token ids -> residual stream rows. Returns [S, hidden]. */
  embed(tokens: readonly number[]): Float32Array;
  /** Runs layers [from, to) over `hidden` ([S, hidden]), appending S rows to their caches, then the head if asked. */
  forward(from: number, to: number, hidden: Float32Array, cache: KvCache, head?: HeadRequest): Promise<ForwardResult>;
  dispose(): Promise<void>;
}

/** The plan of a calibration pass: all L layers with the full head, and the draft head's choice after every layer. */
export function everyExitPlan(numLayers: number): LayerPlan {
  return { exitLayer: numLayers, exitHead: 'full', remainder: false, everyExit: true };
}

/** The plan a decoding mode needs (exit layer E; plain decoding runs all L layers as one block). */
export function planFor(mode: DecodingMode, exitLayer: number, numLayers: number): LayerPlan {
  switch (mode) {
    case 'full':
      return { exitLayer: numLayers, exitHead: 'full', remainder: false };
    case 'early-exit':
      return { exitLayer, exitHead: 'full', remainder: false };
    case 'self-speculative':
      return { exitLayer, exitHead: 'draft', remainder: exitLayer < numLayers };
  }
}
