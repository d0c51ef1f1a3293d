// `node --import tsx server/bench/llama1bPackage.ts OUT_DIR`: a random checkpoint of Llama 3.2 1B's shape (16 layers,
// hidden 2048, intermediate 8192, GQA 32/8, 128,256-token vocabulary, tied embeddings, llama3 rope scaling: the
// smallest facebook/layerskip checkpoint's shape) converted to an int4 package, for `npm run bench -- --model OUT_DIR`.
// Its weights are ten times the bundled model's and its head is 2.6x larger, so calls and the head weigh differently.
// About 2.5 GB of checkpoint is written next to OUT_DIR and removed afterwards.
import { rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { generateCheckpoint } from '../../test/support/checkpoints.js';
import { convertCheckpoint } from '../model/convert.js';

async function main(out: string | undefined): Promise<void> {
  if (!out) throw new Error('usage: node --import tsx server/bench/llama1bPackage.ts OUT_DIR');
  const checkpointDir = join(dirname(resolve(out)), `${basename(resolve(out))}.checkpoint`);
  const checkpoint = generateCheckpoint({
    family: 'llama3.2',
    dir: checkpointDir,
    numLayers: 16,
    hiddenSize: 2048,
    intermediateSize: 8192,
    numHeads: 32,
    numKvHeads: 8,
    vocabSize: 128256,
    dtype: 'BF16',
    seed: 1,
  });
  try {
    await convertCheckpoint(checkpoint.dir, out, {
      dtype: 'int4',
      force: true,
      recommendedExitLayer: 4,
      onProgress: (message) => process.stderr.write(`convert: ${message}\n`),
    });
  } finally {
    rmSync(checkpointDir, { recursive: true, force: true });
  }
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
