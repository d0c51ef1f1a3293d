// `layerskip calibrate --model <pkg> [--files F...] [--tokens N] [--threads N] [--provider cpu|webgpu|cuda] [--json]`
// Measures every exit layer's agreement on the given code (or the bundled sample), the step costs on this machine and
// the best settings by real generation, and prints the table and the choice (server/calibration/).
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runAtOnce } from '../calibration/backgroundGate.js';
import { bundledSample } from '../calibration/codeSample.js';
import { calibratePackage } from '../calibration/calibratePackage.js';
import { bestPerExitLayer } from '../calibration/speedupModel.js';
import { PackageTokenizer } from '../engine/tokenizer.js';
import { readManifest } from '../model/manifest.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../model/onnxBackend.js';
import type { CalibrationResult, TimedSetting } from '../protocol.js';

export const USAGE =
  'usage: layerskip calibrate --model <package-dir> [--files FILE...] [--tokens N] [--threads N] [--provider cpu|webgpu|cuda] [--json]\n' +
  '  Measures how often each exit layer agrees with the full model on your code (--files, else a bundled code sample),\n' +
  '  what drafting and verifying cost on this machine, and times the best predicted settings against full decoding.\n' +
  '  Prints the per-layer table and the fastest measured setting (full decoding when nothing beats it);\n' +
  '  --json prints {"layers": [...], "predicted": [...], "measured": [...], "chosen": {...}, ...} instead.';

const OPTIONS = {
  model: { type: 'string' },
  files: { type: 'string', multiple: true },
  tokens: { type: 'string' },
  threads: { type: 'string' },
  provider: { type: 'string', default: 'cpu' },
  json: { type: 'boolean', default: false },
} as const;

export const command = {
  summary: 'find the fastest exit layer and draft length for a model on this machine',
  usage: USAGE,
  async run(args: string[]): Promise<void> {
    const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true });
    if (!values.model) throw new Error(`--model is required\n${USAGE}`);
    const provider = values.provider as ExecutionProvider;
    if (!EXECUTION_PROVIDERS.includes(provider)) throw new Error(`--provider must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
    const files = [...(values.files ?? []), ...positionals];
    const texts = files.map((file) => ({ name: file, text: readFileSync(file, 'utf8') }));
    const dir = values.model;
    const manifest = readManifest(dir);
    const codec = await PackageTokenizer.inPackage(dir, manifest.tokenizer);
    // progress redraws one line: only on a terminal
    const log = (message: string): void => {
      if (!values.json && process.stderr.isTTY) process.stderr.write(message);
    };
    let shown = '';
    const result = await calibratePackage(dir, {
      texts,
      bundled: bundledSample(packageRoot()),
      codec,
      backendOptions: { executionProvider: provider, intraOpNumThreads: positiveInteger(values.threads, 'threads') },
      modelName: manifest.source.checkpoint || basename(resolve(dir)),
      runUnit: runAtOnce,
      sampleTokens: positiveInteger(values.tokens, 'tokens'),
      onProgress: ({ phase, fraction }) => {
        const line = `\rcalibrating: ${phase} ${Math.round(fraction * 100)}%   `;
        if (line !== shown) log((shown = line));
      },
    });
    log('\n');
    process.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : formatCalibration(result));
  },
};

export function formatCalibration(r: CalibrationResult): string {
  const bestPerLayer = bestPerExitLayer(r.predicted);
  const lines = [
    `${r.model} on ${r.device}, ${r.threads} threads, ${r.cpu}`,
    `sample: ${r.sample.tokens} tokens in ${r.sample.windows} windows (${r.sample.source}); full decoding ${r.fullTokenMs.toFixed(2)} ms a token`,
    '',
    '  E   agreement   draft token   best d   predicted speedup',
    ...r.layers.map((l) => {
      const best = bestPerLayer.get(l.exitLayer)!;
      const cost = `${l.draftTokenMs.toFixed(2)} ms (${(l.draftTokenMs / r.fullTokenMs).toFixed(2)})`;
      return `${String(l.exitLayer).padStart(3)}   ${`${(100 * l.agreement).toFixed(1)}%`.padStart(9)}   ${cost.padStart(15)}   ${String(best.draftLength).padStart(6)}   ${best.speedup.toFixed(2)}x`;
    }),
    '',
    'timed by generation:',
    ...r.measured.map((m) => `  ${describe(m).padEnd(26)} ${m.msPerToken.toFixed(2)} ms a token   ${m.speedup.toFixed(2)}x`),
    '',
    `chosen: ${describe(r.chosen)} (${r.chosen.speedup.toFixed(2)}x full decoding)`,
    `calibration took ${(r.durationMs / 1000).toFixed(1)} s, ${r.cpuSeconds.toFixed(1)} s of CPU`,
  ];
  return lines.join('\n') + '\n';
}

function describe(s: TimedSetting): string {
  return s.mode === 'full' ? 'full decoding' : `self-speculative E${s.exitLayer} d${s.draftLength}`;
}

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name}: "${value}" is not a positive integer\n${USAGE}`);
  return parsed;
}

/** The folder holding package.json above this file (dist/ when bundled, server/cli/ under tsx). */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
