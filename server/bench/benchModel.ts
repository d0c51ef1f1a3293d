/**
 * The model the benchmark runs when no --model is given: a random Llama (generated, then converted to a package)
 * whose layers from QUIET_FROM on barely change the residual stream, so that early exits mostly agree with the full
 * model the way a LayerSkip-trained model's do. Its numbers measure the engine, not a trained model's acceptance.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCheckpoint } from '../../test/support/checkpoints.js';
import { convertCheckpoint } from '../model/convert.js';

export const TEST_MODEL = {
  family: 'llama3',
  numLayers: 16,
  hiddenSize: 512,
  intermediateSize: 1536,
  numHeads: 8,
  quietLayers: { fromLayer: 4, scale: 0.1 },
  seed: 11,
} as const;

export const TEST_MODEL_EXIT_LAYER = 4;

export async function createTestModelPackage(): Promise<{ dir: string; description: string }> {
  const root = mkdtempSync(join(tmpdir(), 'layerskip-bench-'));
  const checkpoint = generateCheckpoint({ ...TEST_MODEL, dir: join(root, 'checkpoint') });
  const dir = join(root, 'package');
  await convertCheckpoint(checkpoint.dir, dir, { dtype: 'fp32', recommendedExitLayer: TEST_MODEL_EXIT_LAYER });
  const m = TEST_MODEL;
  const description =
    `random test model (NOT a trained model): ${m.family}-shaped, ${m.numLayers} layers, hidden ${m.hiddenSize}, ` +
    `intermediate ${m.intermediateSize}, ${m.numHeads} heads, vocab ${checkpoint.config.vocabSize} (byte-level), fp32; ` +
    `layers >= ${m.quietLayers.fromLayer} scaled by ${m.quietLayers.scale} so early exits agree`;
  return { dir, description };
}
