// `npm run bench:calibration [-- --model <package>] [--threads N] [--exit-layers 1,4,8] [--drafts 1,2,3,4,6,8] [--out FILE]`
// Checks the calibration against a brute-force sweep: calibrates (bundled code sample), then times every (E, d) of the
// sweep by real generation on the benchmark's own prompts (other text than the calibration's; those the model ends at
// once are replaced by later pieces of the bundled sample), each exit layer between two timings of full decoding, and
// reports the chosen setting's measured speedup next to the best measured one. Without --model it builds the random
// test model with quiet late layers (benchModel.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runAtOnce } from '../calibration/backgroundGate.js';
import { calibratePackage } from '../calibration/calibratePackage.js';
import { BUNDLED_SAMPLE, BUNDLED_SAMPLE_CHARS, bundledSample } from '../calibration/codeSample.js';
import { formatCalibration } from '../cli/calibrate.js';
import type { Engine, GenerationParams } from '../engine/engine.js';
import { loadPackageEngine } from '../engine/loadPackage.js';
import { createTestModelPackage } from './benchModel.js';
import { PROMPTS, promptTokens } from './prompts.js';

const SWEEP_PROMPTS = 6;
const NEW_TOKENS = 32;
/** A sweep prompt must let full decoding run this long (some models end some prompts at once). */
const MIN_CONTINUATION = 16;
const SAMPLE_PROMPT_CHARS = 1200;

interface Timed {
  label: string;
  exitLayer: number;
  draftLength: number;
  msPerToken: number;
  /** Over full decoding timed around it. */
  speedup: number;
}

async function msPerToken(engine: Engine, prompts: number[][], params: Partial<GenerationParams>): Promise<number> {
  let ms = 0, tokens = 0;
  await engine.generate(prompts[0], { ...params, maxNewTokens: 4 }); // builds the setting's sessions
  for (const prompt of prompts) {
    const { stats } = await engine.generate(prompt, { ...params, maxNewTokens: NEW_TOKENS, temperature: 0, adaptiveDraft: false });
    ms += stats.totalMs - stats.prefillMs;
    tokens += stats.generatedTokens;
  }
  return ms / Math.max(1, tokens);
}

/**
 * The benchmark's prompts that full decoding continues for MIN_CONTINUATION tokens, topped up with pieces of the
 * bundled code sample past the part the calibration reads: SWEEP_PROMPTS prompts of other text than the calibration's.
 */
async function sweepPrompts(engine: Engine): Promise<number[][]> {
  const { config } = engine.info();
  const sample = readFileSync(join(resolve(__dirname, '..'), BUNDLED_SAMPLE), 'utf8').slice(BUNDLED_SAMPLE_CHARS);
  const candidates = [
    ...PROMPTS.map((p) => promptTokens(engine, p)),
    ...Array.from({ length: SWEEP_PROMPTS }, (_, i) => [...(config.bosTokenId === null ? [] : [config.bosTokenId]), ...engine.tokenize(sample.slice(i * SAMPLE_PROMPT_CHARS, (i + 1) * SAMPLE_PROMPT_CHARS))]),
  ];
  const prompts: number[][] = [];
  for (const prompt of candidates) {
    if (prompts.length === SWEEP_PROMPTS) break;
    const { tokens } = await engine.generate(prompt, { mode: 'full', maxNewTokens: MIN_CONTINUATION, temperature: 0 });
    if (tokens.length === MIN_CONTINUATION) prompts.push(prompt);
  }
  if (prompts.length === 0) throw new Error(`full decoding ends every prompt within ${MIN_CONTINUATION} tokens: nothing to time`);
  return prompts;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      model: { type: 'string' },
      threads: { type: 'string', default: '2' },
      'exit-layers': { type: 'string' },
      drafts: { type: 'string', default: '1,2,3,4,6,8' },
      out: { type: 'string', default: 'dist/bench-calibration.json' },
    },
  });
  const threads = Number(values.threads);
  const model = values.model ? { dir: values.model, description: `package ${values.model}` } : await createTestModelPackage();
  process.stderr.write(`bench:calibration: model = ${model.description}\n`);
  const engine = await loadPackageEngine(model.dir, { intraOpNumThreads: threads });
  try {
    const { config } = engine.info();
    const calibration = await calibratePackage(model.dir, {
      texts: [],
      bundled: bundledSample(resolve(__dirname, '..')),
      codec: { encode: (text) => engine.tokenize(text), decode: (tokens) => engine.detokenize(tokens) },
      backendOptions: { intraOpNumThreads: threads },
      modelName: basename(resolve(model.dir)),
      runUnit: runAtOnce,
    });
    process.stdout.write(formatCalibration(calibration) + '\n');

    const layers = values['exit-layers']?.split(',').map(Number) ?? Array.from({ length: config.numLayers - 1 }, (_, i) => i + 1);
    const drafts = values.drafts.split(',').map(Number);
    const prompts = await sweepPrompts(engine);
    const chosen = calibration.chosen;
    const groups = new Map(layers.map((E) => [E, drafts]));
    if (chosen.mode !== 'full' && !groups.get(chosen.exitLayer!)?.includes(chosen.draftLength!)) {
      groups.set(chosen.exitLayer!, [...(groups.get(chosen.exitLayer!) ?? []), chosen.draftLength!]);
    }
    // this machine's speed drifts by 20% within minutes: each exit layer's settings are compared with full decoding
    // timed right before and right after them
    const timed: Timed[] = [];
    let fullBefore = await msPerToken(engine, prompts, { mode: 'full' });
    for (const [E, ds] of groups) {
      const ms: number[] = [];
      for (const d of ds) ms.push(await msPerToken(engine, prompts, { mode: 'self-speculative', exitLayer: E, draftLength: d }));
      const fullAfter = await msPerToken(engine, prompts, { mode: 'full' });
      const fullMs = (fullBefore + fullAfter) / 2;
      ds.forEach((d, i) => {
        timed.push({ label: `E${E} d${d}`, exitLayer: E, draftLength: d, msPerToken: ms[i], speedup: fullMs / ms[i] });
        process.stderr.write(`  E${E} d${d}: ${(fullMs / ms[i]).toFixed(2)}x (full ${fullMs.toFixed(2)} ms a token)\n`);
      });
      fullBefore = fullAfter;
    }
    const best = timed.reduce((a, b) => (b.speedup > a.speedup ? b : a));
    const mine = chosen.mode === 'full' ? { label: 'full', speedup: 1 } : timed.find((t) => t.exitLayer === chosen.exitLayer && t.draftLength === chosen.draftLength)!;
    const bestOverall = Math.max(1, best.speedup);
    const lines = [
      `sweep (${timed.length} settings, each exit layer between two timings of full decoding; ${prompts.length} benchmark prompts x ${NEW_TOKENS} tokens, greedy, ${threads} threads):`,
      `  best measured: ${best.speedup > 1 ? `${best.label} ${best.speedup.toFixed(2)}x full decoding` : `full decoding (best speculative: ${best.label} ${best.speedup.toFixed(2)}x)`}`,
      `  calibration chose: ${mine.label} ${mine.speedup.toFixed(2)}x in the sweep (${calibration.chosen.speedup.toFixed(2)}x in its own timing)`,
      `  chosen / best: ${(mine.speedup / bestOverall).toFixed(3)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    writeFileSync(values.out, JSON.stringify({ model: model.description, calibration, sweep: timed }, null, 2) + '\n');
    process.stderr.write(`bench:calibration: wrote ${values.out}\n`);
  } finally {
    await engine.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:calibration: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
