import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../server/model/onnxGraph.ts';
for (const n of [1, 60, 240]) {
  const g = new GraphBuilder('s', 'x');
  const ins = Array.from({ length: n }, (_, i) => g.input(`in_${i}`, DataType.Float16, ['T', 64]));
  g.output('out', DataType.Float16, ['T', 64]);
  // each input goes through an Identity-ish op so all are "used": Max over all
  g.node(n === 1 ? 'Identity' : 'Max', ins, {}, { outputs: ['out'] });
  const s = await ort.InferenceSession.create(g.encode(), { intraOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const buf = new Uint16Array(64 * 1024);
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < n; i++) feeds[`in_${i}`] = new ort.Tensor('float16', buf.subarray(i * 0, 64 * 8), [8, 64]);
  for (let i = 0; i < 50; i++) await s.run(feeds);
  const t0 = performance.now();
  for (let i = 0; i < 500; i++) await s.run(feeds);
  console.log(n, 'inputs', ((performance.now() - t0) / 500 * 1000).toFixed(0), 'us/run');
}
