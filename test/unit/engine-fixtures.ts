// Shared by the engine tests: small reference-forward engines over generated checkpoints, and an oracle that
// decodes naively (every token recomputes the whole sequence from scratch, no KV cache, no speculation).
import { join } from 'node:path';
import { Engine } from '../../server/engine/engine.js';
import { PackageTokenizer } from '../../server/engine/tokenizer.js';
import type { LayerBackend } from '../../server/backend/layerBackend.js';
import { logitsAfterLayer, ReferenceBackend } from '../../server/model/referenceBackend.js';
import { generateCheckpoint, type CheckpointOptions } from '../support/checkpoints.js';

export interface ReferenceEngine {
  engine: Engine;
  backend: ReferenceBackend;
  codec: PackageTokenizer;
}

/** draftIds: the draft head's vocabulary (as a package's), null for the full head. */
export async function referenceEngine(options: CheckpointOptions, draftIds: Int32Array | null = null): Promise<ReferenceEngine> {
  const { dir } = generateCheckpoint(options);
  const backend = ReferenceBackend.fromCheckpoint(dir, 'float32', draftIds);
  const codec = await PackageTokenizer.load(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
  return { engine: new Engine({ backend, codec, device: 'reference' }), backend, codec };
}

/** Logits of the next token after `tokens`, exiting after `exitLayer` layers, from a cold cache. */
export async function nextTokenLogits(backend: LayerBackend, tokens: readonly number[], exitLayer: number): Promise<Float32Array> {
  const vocab = backend.config.vocabSize;
  const all = await logitsAfterLayer(backend, tokens, exitLayer);
  return all.subarray(all.length - vocab);
}

/** Greedy decoding the slow, obviously-correct way; stops before the first EOS like the engine does. */
export async function naiveGreedy(
  backend: LayerBackend,
  prompt: readonly number[],
  exitLayer: number,
  maxNewTokens: number,
): Promise<number[]> {
  const tokens = [...prompt];
  const generated: number[] = [];
  while (generated.length < maxNewTokens) {
    const logits = await nextTokenLogits(backend, tokens, exitLayer);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    if (backend.config.eosTokenIds.includes(best)) break;
    tokens.push(best);
    generated.push(best);
  }
  return generated;
}

/** Deterministic prompts of random non-special token ids (byte tokens 0..255 of the test tokenizer). */
export function randomPrompts(count: number, length: number, seed: number): number[][] {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 8;
  };
  return Array.from({ length: count }, () => Array.from({ length }, () => next() % 256));
}
