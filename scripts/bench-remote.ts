// `npm run bench:remote [-- --file SRC] [--seed S] [--threads N]`: the latency a user sees with completions from a
// team server against the local engine, for the bundled model on this machine. Starts llama.cpp's OpenAI-compatible
// server (llama-cpp-python[server], scripts/setup-llama-server.sh) on 127.0.0.1 with the bundled model's original
// GGUF, then replays the same typing (server/bench/replay.ts) twice: local engine in full decoding, then remote.
// Prints both reports' keystroke -> ghost text figures side by side. One run on one machine: compare within it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLED_GGUF, BUNDLED_PACKAGE, startLlamaServer } from '../test/support/llamaServer.js';
import { repoRoot } from './package.js';

interface ReplayReport {
  keystrokes: number;
  keystrokesWithGhostText: number;
  predictedCharacterShare: number;
  keystrokeToFirstGhostMs: { allP50: number | null; allP95: number | null; fromModelP50: number | null; fromModelP95: number | null };
  serverMs: { timeToFirstTokenP50: number | null; firstLineP50: number | null; tokensPerSecondP50: number | null };
  serverCpuSeconds: number | null;
}

const { values } = parseArgs({
  options: {
    file: { type: 'string', default: join(repoRoot, 'server', 'completion', 'cursorContext.ts') },
    seed: { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
  },
});

async function main(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'bench-remote-'));
  const replay = (name: string, extra: string[]): ReplayReport => {
    const file = join(out, `${name}.json`);
    const args = [join(repoRoot, 'dist', 'benchReplay.js'), '--model', BUNDLED_PACKAGE, '--file', values.file, '--seed', values.seed, '--mode', 'full', '--out', file, ...extra];
    process.stdout.write(execFileSync(process.execPath, args, { encoding: 'utf8' }));
    return JSON.parse(readFileSync(file, 'utf8')) as ReplayReport;
  };
  const local = replay('local', []);
  const llama = await startLlamaServer({ gguf: BUNDLED_GGUF, alias: 'smollm2', threads: Number(values.threads) });
  let remote: ReplayReport;
  try {
    remote = replay('remote', ['--remote-url', llama.url, '--remote-model', 'smollm2']);
  } finally {
    await llama.stop();
  }
  const ms = (value: number | null): string => (value === null ? '–' : `${value.toFixed(0)} ms`);
  const row = (label: string, pick: (r: ReplayReport) => string): string => `| ${label} | ${pick(local)} | ${pick(remote)} |`;
  process.stdout.write(
    [
      '',
      `Replay of ${values.file} (seed ${values.seed}), bundled model; local: this engine, full decoding; remote: llama.cpp's server (${values.threads} threads) on 127.0.0.1`,
      '| | local engine | remote llama.cpp server |',
      '|---|---|---|',
      row('keystroke -> ghost text p50 / p95', (r) => `${ms(r.keystrokeToFirstGhostMs.allP50)} / ${ms(r.keystrokeToFirstGhostMs.allP95)}`),
      row('model only (not the typing cache) p50 / p95', (r) => `${ms(r.keystrokeToFirstGhostMs.fromModelP50)} / ${ms(r.keystrokeToFirstGhostMs.fromModelP95)}`),
      row('time to first token p50', (r) => ms(r.serverMs.timeToFirstTokenP50)),
      row('first line p50', (r) => ms(r.serverMs.firstLineP50)),
      row('keystrokes with ghost text', (r) => `${r.keystrokesWithGhostText} of ${r.keystrokes}`),
      row('typed characters predicted', (r) => `${(r.predictedCharacterShare * 100).toFixed(1)}%`),
      row('LSP server CPU (the remote engine\'s own not counted)', (r) => `${r.serverCpuSeconds?.toFixed(1) ?? '–'} s`),
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
