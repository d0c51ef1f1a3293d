// `npm run bench:peer [-- --model DIR] [--gguf FILE] [--threads 1,2] [--max-tokens 64] [--repeat 2] [--prompts 5]
//   [--native-python PYTHON]`
// llama.cpp (node-llama-cpp's prebuilt CPU build, as training/verify installs it) on the original GGUF and this
// engine on the package of the same weights, side by side in one run: the same prompt token ids fed to both, the
// same thread counts, interleaved prompt by prompt. With --native-python, also llama.cpp compiled for this CPU (a
// Python with llama-cpp-python installed with CMAKE_ARGS=-DGGML_NATIVE=ON; training/verify/llamacpp_native_bench.py),
// interleaved round by round. Prints decode tokens/s (prefill excluded), the cold prefill of a
// ~1,000-token prompt, decode at ~2,100 tokens of context, and the ratios of each side at its best thread count.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Engine } from '../engine/engine.js';
import { loadPackageEngine } from '../engine/loadPackage.js';
import { table } from './benchReport.js';
import { PROMPTS } from './prompts.js';
import { median } from '../calibration/median.js';

const LONG_PROMPT = 1000;
const LONG_CONTEXT = 2100;
const LONG_CONTEXT_NEW_TOKENS = 32;

/** One side's measurement of one prompt. */
interface Timing {
  prefillMs: number;
  decodeTokensPerSecond: number;
}

/** The few node-llama-cpp calls this uses (its types stay in training/verify, outside the extension). */
interface LlamaSequence {
  evaluate(tokens: number[], options: { temperature: number }): AsyncIterable<number>;
}
interface LlamaContext {
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}
interface LlamaModel {
  createContext(options: { contextSize: number; threads: number; batchSize: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(options: { gpu: false; build: 'never'; logLevel: string }): Promise<{ loadModel(o: { modelPath: string }): Promise<LlamaModel>; dispose(): Promise<void> }>;
  LlamaLogLevel: { error: string };
}

async function loadLlamaCpp(): Promise<NodeLlamaCpp> {
  const entry = resolve('training/verify/node_modules/node-llama-cpp/dist/index.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm --prefix training/verify ci\` (npm run bench:peer does)`);
  return (await import(pathToFileURL(entry).href)) as NodeLlamaCpp;
}

/** llama.cpp: time to the first token is the prefill; the tokens after it are decoding. */
async function llamaCppRun(model: LlamaModel, tokens: number[], newTokens: number, threads: number): Promise<Timing> {
  const context = await model.createContext({ contextSize: tokens.length + newTokens + 8, threads, batchSize: 512 });
  try {
    const started = performance.now();
    let firstAt = NaN;
    let count = 0;
    for await (const token of context.getSequence().evaluate(tokens, { temperature: 0 })) {
      void token;
      if (count === 0) firstAt = performance.now();
      if (++count >= newTokens) break;
    }
    const end = performance.now();
    return { prefillMs: firstAt - started, decodeTokensPerSecond: ((count - 1) * 1000) / (end - firstAt) };
  } finally {
    await context.dispose();
  }
}

/** This engine, full decoding, greedy. cold: the prompt must share no prefix with the previous one (prefill timed). */
async function engineRun(engine: Engine, tokens: number[], newTokens: number, cold = false): Promise<Timing> {
  const { stats } = await engine.generate(tokens, { mode: 'full', temperature: 0, maxNewTokens: newTokens, timeBudgetMs: null, stopStrings: [] });
  if (cold && stats.promptCacheHitTokens > 1) throw new Error('a long prompt reused the previous one: its prefill is not cold');
  return { prefillMs: stats.prefillMs, decodeTokensPerSecond: stats.tokensPerSecond };
}

interface NativeRun {
  key: string;
  tokens: number[];
  newTokens: number;
  threads: number;
}

/** llama.cpp compiled for this CPU, through llama-cpp-python: one process for a round's runs. */
function nativeTimings(python: string, gguf: string, runs: NativeRun[]): [string, Timing][] {
  const script = resolve('training/verify/llamacpp_native_bench.py');
  const result = spawnSync(python, [script], { input: JSON.stringify({ gguf, runs }), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${python} ${script} failed: ${result.stderr || result.error?.message}`);
  const out = JSON.parse(result.stdout) as Timing[];
  return runs.map((run, i) => [run.key, out[i]]);
}

async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: 'media/models/default' },
      gguf: { type: 'string', default: 'training/work/base-model/SmolLM2-135M-Instruct.Q4_1.gguf' },
      threads: { type: 'string', default: '1,2' },
      'max-tokens': { type: 'string', default: '64' },
      repeat: { type: 'string', default: '2' },
      prompts: { type: 'string', default: '5' },
      out: { type: 'string', default: 'dist/bench-peer.json' },
      'native-python': { type: 'string' },
    },
  });
  const threadCounts = values.threads.split(',').map(Number);
  const newTokens = Number(values['max-tokens']);
  const repeat = Number(values.repeat);
  if (!existsSync(values.gguf)) throw new Error(`${values.gguf} is missing: npm run setup-model fetches the bundled model's GGUF`);
  const { getLlama, LlamaLogLevel } = await loadLlamaCpp();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: values.gguf });
  const engines = new Map<number, Engine>();
  for (const threads of threadCounts) engines.set(threads, await loadPackageEngine(values.model, { intraOpNumThreads: threads }));
  try {
    const anyEngine = engines.get(threadCounts[0])!;
    const code = anyEngine.tokenize(PROMPTS.map((p) => p.prefix + p.suffix).join('\n'));
    const sized = (length: number, shift: number): number[] => Array.from({ length }, (_, i) => code[(i + shift) % code.length]);
    const prompts = PROMPTS.slice(0, Number(values.prompts)).map((p) => anyEngine.tokenize(p.prefix));
    const timings: Record<string, Timing[]> = {};
    const record = (key: string, timing: Timing): void => void (timings[key] ??= []).push(timing);
    const sides = ['llama.cpp', ...(values['native-python'] ? ['llama.cpp native'] : []), 'engine'];
    for (let r = 0; r < repeat; r++) {
      const nativeRuns: NativeRun[] = [];
      for (const [i, tokens] of prompts.entries()) {
        for (const threads of threadCounts) nativeRuns.push({ key: `llama.cpp native ${threads}`, tokens, newTokens, threads });
        for (const threads of threadCounts) {
          record(`llama.cpp ${threads}`, await llamaCppRun(model, tokens, newTokens, threads));
          record(`engine ${threads}`, await engineRun(engines.get(threads)!, tokens, newTokens));
        }
        process.stderr.write(`prompt ${i + 1}/${prompts.length}, round ${r + 1}/${repeat}\n`);
      }
      for (const threads of threadCounts) {
        nativeRuns.push({ key: `llama.cpp native ${threads} long`, tokens: sized(LONG_PROMPT, 3 + 13 * r + threads), newTokens: 2, threads });
        const context = sized(LONG_CONTEXT, 501 + 17 * r + threads);
        nativeRuns.push({ key: `llama.cpp native ${threads} context`, tokens: context, newTokens: LONG_CONTEXT_NEW_TOKENS, threads });
        // distinct long prompts (shifted), so that no run reuses another's cache
        record(`llama.cpp ${threads} long`, await llamaCppRun(model, sized(LONG_PROMPT, 3 + 13 * r + threads), 2, threads));
        record(`engine ${threads} long`, await engineRun(engines.get(threads)!, sized(LONG_PROMPT, 3 + 13 * r + threads), 2, true));
        record(`llama.cpp ${threads} context`, await llamaCppRun(model, sized(LONG_CONTEXT, 501 + 17 * r + threads), LONG_CONTEXT_NEW_TOKENS, threads));
        record(`engine ${threads} context`, await engineRun(engines.get(threads)!, sized(LONG_CONTEXT, 501 + 17 * r + threads), LONG_CONTEXT_NEW_TOKENS, true));
      }
      if (values['native-python']) {
        for (const [key, timing] of nativeTimings(values['native-python'], values.gguf, nativeRuns)) record(key, timing);
      }
    }
    const rows = sides.flatMap((side) =>
      threadCounts.map((threads) => {
        const key = `${side} ${threads}`;
        return {
          side,
          threads,
          decode: median(timings[key].map((t) => t.decodeTokensPerSecond)),
          prefillLongMs: median(timings[`${key} long`].map((t) => t.prefillMs)),
          decodeLongContext: median(timings[`${key} context`].map((t) => t.decodeTokensPerSecond)),
        };
      }),
    );
    const best = (side: string, pick: (row: (typeof rows)[number]) => number, lower = false): number => {
      const picked = rows.filter((row) => row.side === side).map(pick);
      return lower ? Math.min(...picked) : Math.max(...picked);
    };
    const ratiosAgainst = (peer: string): Record<string, number> => ({
      decode: best('engine', (r) => r.decode) / best(peer, (r) => r.decode),
      prefillSpeed: best(peer, (r) => r.prefillLongMs, true) / best('engine', (r) => r.prefillLongMs, true),
      decodeLongContext: best('engine', (r) => r.decodeLongContext) / best(peer, (r) => r.decodeLongContext),
    });
    const ratios = Object.fromEntries(sides.filter((side) => side !== 'engine').map((peer) => [peer, ratiosAgainst(peer)]));
    const report = [
      `engine: ${values.model}; llama.cpp: node-llama-cpp prebuilt CPU build on ${values.gguf}`,
      `${prompts.length} prompts x ${repeat} rounds, ${newTokens} new tokens, greedy; medians`,
      table(
        ['engine', 'threads', 'decode tokens/s', `cold prefill of ${LONG_PROMPT} tokens`, `decode tokens/s at ${LONG_CONTEXT} context`],
        rows.map((r) => [r.side, r.threads, r.decode.toFixed(1), `${(r.prefillLongMs / 1000).toFixed(2)} s`, r.decodeLongContext.toFixed(1)]),
      ),
      ...Object.entries(ratios).map(
        ([peer, r]) =>
          `this engine / ${peer}, each at its best thread count: decode ${r.decode.toFixed(2)}x, prefill speed ${r.prefillSpeed.toFixed(2)}x, decode at ${LONG_CONTEXT} context ${r.decodeLongContext.toFixed(2)}x`,
      ),
    ].join('\n');
    process.stdout.write(report + '\n');
    writeFileSync(values.out, JSON.stringify({ model: values.model, gguf: values.gguf, newTokens, repeat, rows, ratios, date: new Date().toISOString() }, null, 2) + '\n');
  } finally {
    for (const engine of engines.values()) await engine.dispose();
    await model.dispose();
    await llama.dispose();
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench:peer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
