// Why int4's block biases are a separate Gemm and not MatMulNBits' float zero points (docs/model-package.md): one
// MatMulNBits (bits 4, block 32, accuracy_level 4, K 576, N 1536, 1 thread) without zero points, with float zero
// points, and as the converter builds it (MatMulNBits + block sums of x + Gemm with the biases). Weights are
// arbitrary: only the time matters. Run: node --import tsx server/bench/int4BlockBias.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../model/onnxGraph.js';

const K = 576;
const N = 1536;
const BLOCKS = K / 32;
const RUNS = 300;
const DATA_BYTES = N * BLOCKS * 16;
const FLOAT_BYTES = N * BLOCKS * 4; // scales, then float zero points / biases

type Variant = 'no zero points' | 'float zero points' | 'block biases (the converter)';

function buildGraph(variant: Variant): Uint8Array {
  const g = new GraphBuilder(variant, 'weights.bin');
  const x = g.input('x', DataType.Float, ['S', K]);
  g.output('y', DataType.Float, ['S', N]);
  const b = g.external('b', { dataType: DataType.Uint8, dims: [N, BLOCKS, 16], offset: 0, length: DATA_BYTES });
  const scales = g.external('scales', { dataType: DataType.Float, dims: [N * BLOCKS], offset: DATA_BYTES, length: FLOAT_BYTES });
  const second = { offset: DATA_BYTES + FLOAT_BYTES, length: FLOAT_BYTES };
  const attributes = { K, N, bits: 4, block_size: 32, accuracy_level: 4 };
  const inputs = [x, b, scales];
  if (variant === 'float zero points') inputs.push(g.external('zero_points', { dataType: DataType.Float, dims: [N * BLOCKS], ...second }));
  if (variant !== 'block biases (the converter)') {
    g.node('MatMulNBits', inputs, attributes, { outputs: ['y'], domain: 'com.microsoft' });
  } else {
    const product = g.node('MatMulNBits', inputs, attributes, { domain: 'com.microsoft' })[0];
    const biases = g.external('biases', { dataType: DataType.Float, dims: [N, BLOCKS], ...second });
    const sums = g.op('ReduceSum', [g.op('Reshape', [x, g.ints([-1, BLOCKS, 32])]), g.ints([2])], { keepdims: 0 });
    g.node('Gemm', [sums, biases, product], { transB: 1 }, { outputs: ['y'] });
  }
  return g.encode();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'int4-bias-'));
  try {
    const weights = Buffer.alloc(DATA_BYTES + 2 * FLOAT_BYTES);
    for (let i = 0; i < DATA_BYTES; i++) weights[i] = (i * 7919) & 255;
    for (let i = 0; i < 2 * N * BLOCKS; i++) weights.writeFloatLE(0.01 + (i % 13) * 1e-3, DATA_BYTES + 4 * i);
    writeFileSync(join(dir, 'weights.bin'), weights);
    for (const rows of [1, 8]) {
      for (const variant of ['no zero points', 'float zero points', 'block biases (the converter)'] as const) {
        const file = join(dir, 'graph.onnx');
        writeFileSync(file, buildGraph(variant));
        const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
        const x = new ort.Tensor('float32', Float32Array.from({ length: rows * K }, (_, i) => Math.sin(i)), [rows, K]);
        for (let i = 0; i < 20; i++) await session.run({ x });
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const start = performance.now();
          await session.run({ x });
          times.push(performance.now() - start);
        }
        times.sort((a, b) => a - b);
        console.log(`S=${rows} ${variant}: median ${times[RUNS >> 1].toFixed(3)} ms`);
        await session.release();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
