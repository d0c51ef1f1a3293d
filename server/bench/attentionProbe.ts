// Why long contexts cost what they do (docs/model-package.md): one decode row's attention over P cached positions,
// SmolLM2-135M's shapes (30 layers, 3 kv heads of 64, 3 query heads each), built the ways onnxruntime's CPU ops allow,
// timed interleaved in one process (this machine's speed drifts by minutes). Inputs are the cache as the engine feeds
// it: position-major [P, kvH, D] per layer, distinct buffers, so every run reads them from memory.
// Run: node --import tsx server/bench/attentionProbe.ts [P] [threads]
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../model/onnxGraph.js';
import { median } from '../calibration/median.js';

const LAYERS = 30;
const KV_HEADS = 3;
const GROUP = 3;
const D = 64;
const SCALE = 1 / Math.sqrt(D);

type Variant =
  | 'as built (float16 cache, cast)'
  | 'float32 cache'
  | 'two value sums (no Concat; not exact)'
  | 'one query row per batch entry'
  | 'new rows already in the cache (no Concat)';
const VARIANTS: Variant[] = [
  'as built (float16 cache, cast)',
  'float32 cache',
  'two value sums (no Concat; not exact)',
  'one query row per batch entry',
  'new rows already in the cache (no Concat)',
];

/**
 * Cached rows fed to a layer: P, or P + 1 where the new row is already in the cache when attention reads it (the
 * best case of writing the new rows before attention: one MatMul over all keys, the values without a Concat).
 */
function cachedRows(variant: Variant, past: number): number {
  return variant === 'new rows already in the cache (no Concat)' ? past + 1 : past;
}

function buildGraph(variant: Variant, past: number): Uint8Array {
  const g = new GraphBuilder('attention', 'unused.bin');
  const half = variant !== 'float32 cache';
  const kvType = half ? DataType.Float16 : DataType.Float;
  const asFloat = (t: string): string => (half ? g.op('Cast', [t], { to: DataType.Float }) : t);
  const q = g.input('q', DataType.Float, [KV_HEADS, GROUP, D]); // one row's queries, grouped by kv head
  const bias = g.input('bias', DataType.Float, [GROUP, past + 1]);
  const matmul = (a: string, b: string, transB: boolean, alpha: number): string =>
    g.op('FusedMatMul', [a, b], { transB: transB ? 1 : 0, transBatchB: 1, alpha: { float: alpha } }, 'com.microsoft');
  const contexts: string[] = [];
  for (let l = 0; l < LAYERS; l++) {
    const rows = cachedRows(variant, past);
    const [pastKey, pastValue] = [g.input(`pk${l}`, kvType, [rows, KV_HEADS, D]), g.input(`pv${l}`, kvType, [rows, KV_HEADS, D])];
    const [newKey, newValue] = [g.input(`nk${l}`, kvType, [1, KV_HEADS, D]), g.input(`nv${l}`, kvType, [1, KV_HEADS, D])];
    if (variant === 'one query row per batch entry') {
      // A [G, kvH, 1, D] against B [T, 1, kvH, D] broadcast over G: M = 1, MLAS's kernels that read B unpacked
      const rows = g.op('Transpose', [g.op('Reshape', [g.op('Mul', [q, g.scalar(SCALE)]), g.ints([KV_HEADS, GROUP, 1, D])])], { perm: [1, 0, 2, 3] });
      const perRow = (a: string, b: string, transB: boolean): string =>
        g.op('FusedMatMul', [a, g.op('Reshape', [b, g.ints([-1, 1, KV_HEADS, D])])], { transB: transB ? 1 : 0, transBatchB: 1 }, 'com.microsoft');
      const scores = g.op('Concat', [perRow(rows, asFloat(pastKey), true), perRow(rows, asFloat(newKey), true)], { axis: -1 });
      const probs = g.op('Softmax', [g.op('Add', [scores, g.op('Reshape', [bias, g.ints([GROUP, 1, 1, -1])])])], { axis: -1 });
      contexts.push(g.op('Reshape', [perRow(probs, asFloat(g.op('Concat', [pastValue, newValue], { axis: 0 })), false), g.ints([KV_HEADS, GROUP, D])]));
      continue;
    }
    if (variant === 'new rows already in the cache (no Concat)') {
      const probs = g.op('Softmax', [g.op('Add', [matmul(q, asFloat(pastKey), true, SCALE), bias])], { axis: -1 });
      contexts.push(matmul(probs, asFloat(pastValue), false, 1));
      continue;
    }
    const scores = g.op('Concat', [matmul(q, asFloat(pastKey), true, SCALE), matmul(q, asFloat(newKey), true, SCALE)], { axis: -1 });
    const probs = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: -1 });
    if (variant === 'two value sums (no Concat; not exact)') {
      const [pastProbs, newProbs] = g.node('Split', [probs, g.ints([past, 1])], { axis: -1 }, { outputs: 2 });
      contexts.push(g.op('Add', [matmul(pastProbs, asFloat(pastValue), false, 1), matmul(newProbs, asFloat(newValue), false, 1)]));
    } else {
      contexts.push(matmul(probs, asFloat(g.op('Concat', [pastValue, newValue], { axis: 0 })), false, 1));
    }
  }
  g.node('Sum', contexts, {}, { outputs: ['out'] });
  g.output('out', DataType.Float, [KV_HEADS, GROUP, D]);
  return g.encode();
}

function feeds(variant: Variant, past: number): Record<string, ort.Tensor> {
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const cache = (rows: number): ort.Tensor => {
    const n = rows * KV_HEADS * D;
    return variant === 'float32 cache'
      ? new ort.Tensor('float32', random(n), [rows, KV_HEADS, D])
      : new ort.Tensor('float16', Uint16Array.from({ length: n }, () => 0x3000 + Math.floor(Math.random() * 0x800)), [rows, KV_HEADS, D]);
  };
  const out: Record<string, ort.Tensor> = {
    q: new ort.Tensor('float32', random(KV_HEADS * GROUP * D), [KV_HEADS, GROUP, D]),
    bias: new ort.Tensor('float32', new Float32Array(GROUP * (past + 1)), [GROUP, past + 1]),
  };
  const rows = cachedRows(variant, past);
  for (let l = 0; l < LAYERS; l++) Object.assign(out, { [`pk${l}`]: cache(rows), [`pv${l}`]: cache(rows), [`nk${l}`]: cache(1), [`nv${l}`]: cache(1) });
  return out;
}

async function main(): Promise<void> {
  const past = Number(process.argv[2] ?? 2100);
  const threads = Number(process.argv[3] ?? 2);
  const runs = [];
  for (const variant of VARIANTS) {
    const session = await ort.InferenceSession.create(buildGraph(variant, past), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'basic',
      extra: { session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' } },
    });
    runs.push({ variant, session, feeds: feeds(variant, past), times: [] as number[] });
  }
  for (let round = 0; round < 30; round++) {
    for (const run of runs) {
      const started = performance.now();
      await run.session.run(run.feeds);
      run.times.push(performance.now() - started);
    }
  }
  console.log(`attention of one decode row over ${past} cached positions, ${LAYERS} layers, ${threads} threads (median of 30, interleaved)`);
  for (const run of runs) console.log(`${run.variant.padEnd(40)} ${median(run.times).toFixed(2)} ms`);
  for (const run of runs) await run.session.release();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
