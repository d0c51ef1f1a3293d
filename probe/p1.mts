import * as ort from 'onnxruntime-node';
import { writeFileSync } from 'node:fs';
import { DataType, GraphBuilder } from '../server/model/onnxGraph.ts';

// weights file with a 4x4 identity-ish matrix
const w = new Float32Array(16); for (let i = 0; i < 4; i++) w[i * 5] = 2;
writeFileSync('/tmp/probe/w.bin', Buffer.concat([Buffer.alloc(100), Buffer.from(w.buffer)]));

async function tryExternal(location: string, opts: object) {
  const g = new GraphBuilder('g', location);
  g.input('x', DataType.Float, ['S', 4]);
  const wn = g.external('w', { dataType: DataType.Float, dims: [4, 4], offset: 100, length: 64 });
  g.output('y', DataType.Float, ['S', 4]);
  g.node('MatMul', ['x', wn], {}, { outputs: ['y'] });
  try {
    const s = await ort.InferenceSession.create(g.encode(), opts);
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) });
    console.log(location, JSON.stringify(opts), 'OK', r.y.data);
  } catch (e) { console.log(location, JSON.stringify(opts), 'FAIL', (e as Error).message.slice(0, 200)); }
}
await tryExternal('/tmp/probe/w.bin', {});
await tryExternal('w.bin', { externalData: [{ path: 'w.bin', data: '/tmp/probe/w.bin' }] });

// ScatterND in place: cache [H, C, D] float16, updates [H, S, D], indices [H, S, 2]
{
  const H = 2, C = 8, D = 4, S = 2;
  const g = new GraphBuilder('s', 'x');
  g.input('cache', DataType.Float16, [H, 'C', D]);
  g.input('idx', DataType.Int64, [H, 'S', 2]);
  g.input('upd', DataType.Float16, [H, 'S', D]);
  g.output('present', DataType.Float16, [H, 'C', D]);
  g.output('sum', DataType.Float, [H, D]);
  g.node('ScatterND', ['cache', 'idx', 'upd'], {}, { outputs: ['present'] });
  const f = g.op('Cast', ['present'], { to: DataType.Float });
  g.node('ReduceSum', [f, g.ints([1])], { keepdims: 0 }, { outputs: ['sum'] });
  const s = await ort.InferenceSession.create(g.encode());
  const cache = new Uint16Array(H * C * D);
  const idx = new BigInt64Array(H * S * 2);
  for (let h = 0; h < H; h++) for (let i = 0; i < S; i++) { idx[(h * S + i) * 2] = BigInt(h); idx[(h * S + i) * 2 + 1] = BigInt(3 + i); }
  const upd = new Uint16Array(H * S * D).fill(0x3c00); // 1.0
  const cacheT = new ort.Tensor('float16', cache, [H, C, D]);
  const r = await s.run({ cache: cacheT, idx: new ort.Tensor('int64', idx, [H, S, 2]), upd: new ort.Tensor('float16', upd, [H, S, D]) }, { present: cacheT, sum: null } as any);
  console.log('in-place written:', Array.from(cache).filter((v) => v === 0x3c00).length, 'of', H * S * D, 'same object', r.present === cacheT, (r.present.data as any).buffer === cache.buffer, 'sum', r.sum.data);
  // also: the output view with offset into a bigger buffer
  const big = new Uint16Array(H * C * D + 16);
  const view = big.subarray(16);
  const vt = new ort.Tensor('float16', view, [H, C, D]);
  const r2 = await s.run({ cache: vt, idx: new ort.Tensor('int64', idx, [H, S, 2]), upd: new ort.Tensor('float16', upd, [H, S, D]) }, { present: vt, sum: null } as any);
  console.log('offset view written:', Array.from(view).filter((v) => v === 0x3c00).length, 'first16 untouched', big.subarray(0, 16).every((v) => v === 0), r2.sum.data);
  // timing: big cache 30 layers-ish: measure run cost with C=4096, H=3, D=64 prealloc vs not
  const C2 = 4096, H2 = 3, D2 = 64;
  const g2 = new GraphBuilder('s2', 'x');
  g2.input('cache', DataType.Float16, [H2, 'C', D2]);
  g2.input('idx', DataType.Int64, [H2, 'S', 2]);
  g2.input('upd', DataType.Float16, [H2, 'S', D2]);
  g2.output('present', DataType.Float16, [H2, 'C', D2]);
  g2.node('ScatterND', ['cache', 'idx', 'upd'], {}, { outputs: ['present'] });
  const s2 = await ort.InferenceSession.create(g2.encode());
  const c2 = new Uint16Array(H2 * C2 * D2); const c2t = new ort.Tensor('float16', c2, [H2, C2, D2]);
  const idx2 = new BigInt64Array(H2 * 2); for (let h = 0; h < H2; h++) { idx2[2 * h] = BigInt(h); idx2[2 * h + 1] = 5n; }
  const feeds = { cache: c2t, idx: new ort.Tensor('int64', idx2, [H2, 1, 2]), upd: new ort.Tensor('float16', new Uint16Array(H2 * D2), [H2, 1, D2]) };
  for (const mode of ['prealloc', 'returned', 'prealloc']) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) await s2.run(feeds, mode === 'prealloc' ? ({ present: c2t } as any) : undefined);
    console.log(mode, ((performance.now() - t0) / 200).toFixed(3), 'ms per run (1.5 MiB cache)');
  }
}
