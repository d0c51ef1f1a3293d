// LayerBackend over the plain-TypeScript reference forward: the oracle the engine and the ONNX package are tested
// against. Same contract as the ONNX backend (positions implicit in the cache length, keys appended per layer).
import type { LayerBackend } from '../engine/backend.js';
import { KvCache } from '../engine/kvCache.js';
import type { ModelConfig } from './config.js';
import { decoderLayer, embed, head, loadReferenceModel, type ReferenceModel } from './referenceForward.js';
import { inverseFrequencies, rotaryTables } from './rope.js';

export function checkLayerRange(config: ModelConfig, from: number, to: number): void {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > config.numLayers || from > to) {
    throw new RangeError(`layer range [${from}, ${to}) is not inside [0, ${config.numLayers}]`);
  }
}

export function checkRows(config: ModelConfig, hidden: Float32Array): number {
  if (hidden.length === 0 || hidden.length % config.hiddenSize !== 0) {
    throw new RangeError(`hidden has ${hidden.length} values, not a positive multiple of ${config.hiddenSize}`);
  }
  return hidden.length / config.hiddenSize;
}

export class ReferenceBackend implements LayerBackend {
  readonly config: ModelConfig;
  private readonly inverse: Float64Array;

  constructor(private readonly model: ReferenceModel) {
    this.config = model.config;
    this.inverse = inverseFrequencies(model.config);
  }

  static fromCheckpoint(dir: string): ReferenceBackend {
    return new ReferenceBackend(loadReferenceModel(dir));
  }

  embed(tokens: readonly number[]): Float32Array {
    return embed(this.model, tokens);
  }

  async runLayers(from: number, to: number, hidden: Float32Array, cache: KvCache): Promise<Float32Array> {
    checkLayerRange(this.config, from, to);
    const rows = checkRows(this.config, hidden);
    let x = hidden;
    for (let layer = from; layer < to; layer++) {
      const { cos, sin } = rotaryTables(this.inverse, cache.length(layer), rows);
      const out = decoderLayer(
        this.config,
        this.model.weights.layers[layer],
        x,
        cache.pastKeys(layer),
        cache.pastValues(layer),
        cos,
        sin,
      );
      cache.append(layer, out.key, out.value);
      x = out.hidden;
    }
    return x;
  }

  async logits(hidden: Float32Array): Promise<Float32Array> {
    checkRows(this.config, hidden);
    return head(this.model, hidden);
  }

  async argmax(hidden: Float32Array): Promise<Int32Array> {
    return argmaxRows(await this.logits(hidden), this.config.vocabSize);
  }

  async dispose(): Promise<void> {}
}

/** Index of the largest value of each row (first one on ties, like torch.argmax and onnx ArgMax). */
export function argmaxRows(logits: Float32Array, vocabSize: number): Int32Array {
  const out = new Int32Array(logits.length / vocabSize);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let v = 1; v < vocabSize; v++) if (logits[r * vocabSize + v] > logits[r * vocabSize + best]) best = v;
    out[r] = best;
  }
  return out;
}

/** Logits [tokens.length, vocab] after the first `exitLayer` layers of a fresh run (norm + head applied). */
export async function logitsAfterLayer(
  backend: LayerBackend,
  tokens: readonly number[],
  exitLayer: number,
): Promise<Float32Array> {
  const { numLayers, numKvHeads, headDim } = backend.config;
  const cache = new KvCache(numLayers, numKvHeads, headDim, tokens.length);
  const hidden = await backend.runLayers(0, exitLayer, backend.embed(tokens), cache);
  return backend.logits(hidden);
}
