// Latency of one decode step (S=1) and one verification block (S=8) through all layers + head, for the session
// settings the ONNX backend could use: threads per session and whether idle pool threads spin.
// Run: node --import tsx server/bench/sessionOptions.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCheckpoint } from '../../test/support/checkpoints.js';
import { newKvCache } from '../backend/kvCache.js';
import { convertCheckpoint } from '../model/convert.js';
import { OnnxBackend, type OnnxBackendOptions } from '../model/onnxBackend.js';

// A SmolLM2-135M-like layer stack (hidden 576, GQA 9/3, 30 layers) with a small vocabulary.
const SHAPE = { hiddenSize: 576, intermediateSize: 1536, numHeads: 9, numKvHeads: 3, numLayers: 30, vocabSize: 8192 };
const SETTINGS: [string, OnnxBackendOptions][] = [
  ['default (threads: cores, at most 8; spinning during runs)', {}],
  ['1 thread', { intraOpNumThreads: 1 }],
  ['2 threads, no spinning', { intraOpNumThreads: 2, allowSpinning: false }],
  ['2 threads, spinning during runs', { intraOpNumThreads: 2, allowSpinning: true }],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeSteps(backend: OnnxBackend, rows: number, steps: number): Promise<number> {
  const { numLayers } = backend.config;
  const cache = newKvCache(backend);
  await backend.forward(0, numLayers, backend.embed(Array.from({ length: 64 }, (_, i) => i + 3)), cache); // prompt
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const started = performance.now();
    await backend.forward(0, numLayers, backend.embed(Array.from({ length: rows }, (_, i) => 10 + i)), cache, { output: 'ids' });
    times.push(performance.now() - started);
    cache.truncate(64); // same context length every step
  }
  return median(times);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'session-options-'));
  try {
    const checkpoint = generateCheckpoint({ family: 'llama3', dir: join(work, 'ckpt'), dtype: 'BF16', ...SHAPE });
    for (const dtype of ['fp32', 'int4'] as const) {
      const pkg = join(work, dtype);
      await convertCheckpoint(checkpoint.dir, pkg, { dtype });
      for (const [label, options] of SETTINGS) {
        const backend = await OnnxBackend.load(pkg, options);
        const one = await timeSteps(backend, 1, 30);
        const eight = await timeSteps(backend, 8, 15);
        console.log(`${dtype} ${label}: S=1 ${one.toFixed(2)} ms, S=8 ${eight.toFixed(2)} ms (median, 30 layers + head argmax, one segment)`);
        await backend.dispose();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
