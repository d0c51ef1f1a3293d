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
  benchReplay: 'server/bench/replay.ts',
  benchStorm: 'server/bench/replayStorm.ts',
};

const existing = Object.fromEntries(
  await Promise.all(
    Object.entries(entryPoints).map(async ([name, file]) => {
      const fs = await import('node:fs');
      return fs.existsSync(file) ? [name, file] : [name, null];
    }),
  ),
);

await esbuild.build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(existing).filter(([, f]) => f !== null)),
  outdir: 'dist',
  banner: { js: '/* LayerSkip Code Completion */' },
});
