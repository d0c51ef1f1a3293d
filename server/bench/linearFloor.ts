// The floor onnxruntime's kernels set for a decoded token (docs/model-package.md): a full token of a package, as the
// engine runs it (one session, one row, the cache at `context` positions), against one session holding only the
// package's linears, built by the same `linear()` as the segments (every layer's MatMulNBits, with the Gemms of Q4_1's
// block biases where the package has them) and its LM head: whatever the rest of a layer costs (attention, norms,
// rotary, the small nodes, the call) is the difference. A third session drops the block biases (wrong values, the
// time of symmetric int4 blocks, which need no Gemm). Interleaved token by token in one process, as this machine's
// speed drifts by minutes. Run: node --import tsx server/bench/linearFloor.ts [PACKAGE] [threads] [context]
import * as ort from 'onnxruntime-node';
import { newKvCache } from '../backend/kvCache.js';
import { planFor } from '../backend/layerBackend.js';
import { median } from '../calibration/median.js';
import { layerWeightName, readManifest } from '../model/manifest.js';
import { OnnxBackend } from '../model/onnxBackend.js';
import { DataType, GraphBuilder } from '../model/onnxGraph.js';
import { linear } from '../model/segmentGraphs.js';

const TOKENS = 60;

/** One session: every linear of every layer and the head, each fed a fixed row; their outputs summed into one scalar. */
async function linearsSession(dir: string, threads: number, withHead: boolean, withBiases = true): Promise<{ session: ort.InferenceSession; feeds: Record<string, ort.Tensor> }> {
  const manifest = readManifest(dir);
  const { hiddenSize, intermediateSize, numLayers, numHeads, headDim } = manifest.config;
  const options = { weightsFile: manifest.weights, quantizedActivations: manifest.activations === 'int8', kvCache: 'float32', executionProvider: 'cpu' } as const;
  const g = new GraphBuilder('linears', manifest.weights);
  const hidden = g.input('hidden', DataType.Float, [1, hiddenSize]);
  const attention = g.input('attention', DataType.Float, [1, numHeads * headDim]);
  const intermediate = g.input('intermediate', DataType.Float, [1, intermediateSize]);
  const sums: string[] = [];
  const add = (x: string, name: string): void => {
    const ref = manifest.tensors[name];
    const product = linear(g, options, x, name, ref.kind === 'nbits' && !withBiases ? { ...ref, biases: null } : ref);
    sums.push(g.op('ReduceSum', [product], { keepdims: 0 }));
  };
  for (let layer = 0; layer < numLayers; layer++) {
    add(hidden, layerWeightName(layer, 'qkv_proj'));
    add(attention, layerWeightName(layer, 'o_proj'));
    add(hidden, layerWeightName(layer, 'gate_up_proj'));
    add(intermediate, layerWeightName(layer, 'down_proj'));
  }
  if (withHead) add(hidden, 'lm_head');
  g.node('Sum', sums, {}, { outputs: ['y'] });
  g.output('y', DataType.Float, []);
  const session = await ort.InferenceSession.create(g.encode(), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'basic',
    extra: { session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1', model_external_initializers_file_folder_path: dir } },
  });
  const row = (n: number): ort.Tensor => new ort.Tensor('float32', Float32Array.from({ length: n }, () => Math.random() - 0.5), [1, n]);
  return { session, feeds: { hidden: row(hiddenSize), attention: row(numHeads * headDim), intermediate: row(intermediateSize) } };
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? 'media/models/default';
  const threads = Number(process.argv[3] ?? 2);
  const context = Number(process.argv[4] ?? 100);
  const backend = await OnnxBackend.load(dir, { intraOpNumThreads: threads });
  const layers = backend.config.numLayers;
  await backend.arrange(planFor('full', layers, layers));
  const cache = newKvCache(backend, context + 8);
  const prompt = Array.from({ length: context }, (_, i) => (i * 7919 + 13) % 1000);
  for (let at = 0; at < context; at += 64) await backend.forward(0, layers, backend.embed(prompt.slice(at, at + 64)), cache);
  const parts = [await linearsSession(dir, threads, true), await linearsSession(dir, threads, false), await linearsSession(dir, threads, false, false)];
  const times = { token: [] as number[], linearsAndHead: [] as number[], linears: [] as number[], withoutBiases: [] as number[] };
  for (let i = 0; i < TOKENS; i++) {
    let started = performance.now();
    await backend.forward(0, layers, backend.embed([42 + i]), cache, { output: 'ids' });
    times.token.push(performance.now() - started);
    cache.truncate(context);
    for (const [part, key] of [[parts[0], 'linearsAndHead'], [parts[1], 'linears'], [parts[2], 'withoutBiases']] as const) {
      started = performance.now();
      await part.session.run(part.feeds);
      times[key].push(performance.now() - started);
    }
  }
  const token = median(times.token);
  const linearsAndHead = median(times.linearsAndHead);
  console.log(`${dir}, ${threads} threads, ${context} positions of context, medians of ${TOKENS} interleaved runs:`);
  console.log(`  full token (one session, as the engine runs it)  ${token.toFixed(2)} ms`);
  console.log(`  its linears (Q4_1 bias Gemms included) + head     ${linearsAndHead.toFixed(2)} ms (${((100 * linearsAndHead) / token).toFixed(0)}%)`);
  console.log(`  its linears alone                                 ${median(times.linears).toFixed(2)} ms`);
  console.log(`  its linears without Q4_1's block biases           ${median(times.withoutBiases).toFixed(2)} ms (wrong values: what symmetric blocks would cost)`);
  for (const part of parts) await part.session.release();
  await backend.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
