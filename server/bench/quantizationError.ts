// How far int8 and int4 move a checkpoint's weights: every 2-D tensor encoded and decoded with the converter's own
// encodeRows / decodeRows, max and rms |decoded - original|, separately for the embedding and the linear layers.
// Run: node --import tsx server/bench/quantizationError.ts <hf-checkpoint-dir>
import { openHfCheckpoint } from '../model/checkpoint.js';
import { readTensor } from '../model/safetensors.js';
import { decodeRows, encodeRows, type PackageDtype } from '../model/weightEncoding.js';

const DTYPES: PackageDtype[] = ['int8', 'int4'];

function main(): void {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node --import tsx server/bench/quantizationError.ts <hf-checkpoint-dir>');
  const checkpoint = openHfCheckpoint(dir);
  const stats = new Map<string, { max: number; sumSquares: number; count: number }>();
  for (const [name, tensor] of checkpoint.tensors) {
    if (tensor.shape.length !== 2) continue; // norms are stored as float32
    const values = readTensor(tensor);
    const [rows, cols] = tensor.shape;
    for (const dtype of DTYPES) {
      const decoded = decodeRows(encodeRows(values, cols, dtype), rows, cols, dtype);
      const key = `${name.includes('embed_tokens') || name === 'lm_head.weight' ? 'embedding/head' : 'linear layers'} ${dtype}`;
      const s = stats.get(key) ?? { max: 0, sumSquares: 0, count: 0 };
      for (let i = 0; i < values.length; i++) {
        const error = Math.abs(decoded[i] - values[i]);
        s.max = Math.max(s.max, error);
        s.sumSquares += error * error;
      }
      s.count += values.length;
      stats.set(key, s);
    }
  }
  for (const [key, s] of stats) {
    console.log(`${key}: ${s.count} weights, max |error| ${s.max.toExponential(2)}, rms ${Math.sqrt(s.sumSquares / s.count).toExponential(2)}`);
  }
}

main();
