// Helpers shared by every LayerBackend implementation and its callers: argument checks, argmax, a fresh run.
import type { LayerBackend } from '../backend/layerBackend.js';
import { newKvCache } from '../backend/kvCache.js';
import type { ModelConfig } from './config.js';

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

/** Logits [tokens.length, vocab] after the first `exitLayer` layers of a fresh run (norm + full head applied). */
export async function logitsAfterLayer(
  backend: LayerBackend,
  tokens: readonly number[],
  exitLayer: number,
): Promise<Float32Array> {
  await backend.arrange({ exitLayer, exitHead: 'full', remainder: false });
  const cache = newKvCache(backend, tokens.length + 1);
  const { logits } = await backend.forward(0, exitLayer, backend.embed(tokens), cache, { output: 'logits' });
  return logits!;
}
