import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../server/model/onnxGraph.ts';
const kvH = 3, M = 6, D = 8, T = 5;
const g = new GraphBuilder('s', 'x');
g.input('q', DataType.Float, [kvH, M, D]);
g.input('k', DataType.Float, ['T', kvH, D]);
g.output('scores', DataType.Float, [kvH, M, 'T']);
g.output('ctx', DataType.Float, [kvH, M, D]);
g.node('FusedMatMul', ['q', 'k'], { transB: 1, transBatchB: 1 }, { outputs: ['scores'], domain: 'com.microsoft' });
g.node('FusedMatMul', ['scores', 'k'], { transBatchB: 1 }, { outputs: ['ctx'], domain: 'com.microsoft' });
const s = await ort.InferenceSession.create(g.encode());
const q = Float32Array.from({ length: kvH * M * D }, () => Math.random());
const k = Float32Array.from({ length: T * kvH * D }, () => Math.random());
const r = await s.run({ q: new ort.Tensor('float32', q, [kvH, M, D]), k: new ort.Tensor('float32', k, [T, kvH, D]) });
let err = 0, err2 = 0;
const sc = r.scores.data as Float32Array;
for (let h = 0; h < kvH; h++) for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) {
  let sum = 0; for (let d = 0; d < D; d++) sum += q[(h * M + m) * D + d] * k[(t * kvH + h) * D + d];
  err = Math.max(err, Math.abs(sum - sc[(h * M + m) * T + t]));
}
const cx = r.ctx.data as Float32Array;
for (let h = 0; h < kvH; h++) for (let m = 0; m < M; m++) for (let d = 0; d < D; d++) {
  let sum = 0; for (let t = 0; t < T; t++) sum += sc[(h * M + m) * T + t] * k[(t * kvH + h) * D + d];
  err2 = Math.max(err2, Math.abs(sum - cx[(h * M + m) * D + d]));
}
console.log('dims', r.scores.dims, r.ctx.dims, 'max err', err, err2);
