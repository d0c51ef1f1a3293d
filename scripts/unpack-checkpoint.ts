// `node --import tsx scripts/unpack-checkpoint.ts <checkpoint-dir> <out-dir>` (npm run setup-model uses it):
// training/checkpoints/ parts -> a float32 Hugging Face checkpoint folder (server/model/packedCheckpoint.ts).
import { unpackCheckpoint } from '../server/model/packedCheckpoint.js';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node --import tsx scripts/unpack-checkpoint.ts <checkpoint-dir> <out-dir>');
  process.exit(2);
}
try {
  console.log(`unpack-checkpoint: ${unpackCheckpoint(dir, out)} tensors -> ${out}`);
} catch (error) {
  console.error(`unpack-checkpoint: ${(error as Error).message}`);
  process.exit(1);
}
