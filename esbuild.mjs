// Bundles the extension and the server into dist/. onnxruntime-node stays external: it ships native files that
// are copied next to the bundle by `vsce package` (see .vscodeignore), never inlined.
import * as esbuild from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  external: ['vscode', 'onnxruntime-node'],
};

const entryPoints = {
  extension: 'extension/extension.ts',
  server: 'server/server.ts',
  cli: 'server/cli.ts',
  engineWorker: 'server/engine/worker.ts',
  bench: 'server/bench/bench.ts',
  benchPeer: 'server/bench/peer.ts',
  benchReplay: 'server/bench/replay.ts',
  benchStorm: 'server/bench/replayStorm.ts',
  benchQuality: 'server/bench/quality.ts',
  benchCalibration: 'server/bench/calibration.ts',
};

await esbuild.build({
  ...common,
  entryPoints,
  outdir: 'dist',
  banner: { js: '/* LayerSkip Code Completion */' },
});
