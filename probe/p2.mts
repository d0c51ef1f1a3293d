import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../server/model/onnxGraph.ts';
const H = 3, D = 64;
for (const via of ['none', 'Identity', 'Reshape']) {
  for (const C of [256, 8192]) {
    const g = new GraphBuilder('s', 'x');
    g.input('cache', DataType.Float16, [H, 'C', D]);
    g.input('idx', DataType.Int64, [H, 'S', 2]);
    g.input('upd', DataType.Float16, [H, 'S', D]);
    g.output('sum', DataType.Float16, [H, D]);
    const src = via === 'none' ? 'cache' : via === 'Identity' ? g.op('Identity', ['cache']) : g.op('Reshape', ['cache', g.ints([H, -1, D])]);
    const present = g.op('ScatterND', [src, 'idx', 'upd']);
    // read only one row back so the read cost is not the cache size
    const row = g.op('Gather', [present, g.ints([5])], { axis: 1 });
    g.node('Identity', [row], {}, { outputs: ['sum'] });
    const s = await ort.InferenceSession.create(g.encode(), { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    const cache = new Uint16Array(H * C * D);
    const idx = new BigInt64Array(H * 2); for (let h = 0; h < H; h++) { idx[2 * h] = BigInt(h); idx[2 * h + 1] = 5n; }
    const feeds = { cache: new ort.Tensor('float16', cache, [H, C, D]), idx: new ort.Tensor('int64', idx, [H, 1, 2]), upd: new ort.Tensor('float16', new Uint16Array(H * D).fill(0x3c00), [H, 1, D]) };
    await s.run(feeds);
    const written = cache.filter((v) => v === 0x3c00).length;
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) await s.run(feeds);
    console.log(via, 'C', C, 'js buffer written', written, ((performance.now() - t0) / 300 * 1000).toFixed(0), 'us/run');
  }
}
