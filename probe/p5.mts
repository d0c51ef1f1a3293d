import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../server/model/onnxGraph.ts';
const g = new GraphBuilder('g', 'w.bin');
g.input('x', DataType.Float, ['S', 4]);
const wn = g.external('w', { dataType: DataType.Float, dims: [4, 4], offset: 100, length: 64 });
g.output('y', DataType.Float, ['S', 4]);
g.node('MatMul', ['x', wn], {}, { outputs: ['y'] });
try {
  const s = await ort.InferenceSession.create(g.encode(), { extra: { session: { model_external_initializers_file_folder_path: '/tmp/probe' } } });
  const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) });
  console.log('OK', r.y.data);
} catch (e) { console.log('FAIL', (e as Error).message.slice(0, 300)); }
