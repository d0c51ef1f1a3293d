// `npm run bench [-- --model <package>] [--exit-layer E] [--draft d] [--draft-sweep 1,2,4] [--confidence C] [--max-tokens N]
//   [--provider cpu|webgpu|cuda] [--threads N (default 1)] [--out FILE]`
// Runs the same code-completion prompts through full, self-speculative (fixed and adaptive d) and early-exit
// decoding, greedy, in one process; checks self-speculative output == full output; prints tables and writes JSON.
// Without --model it builds and uses a random test model (see benchModel.ts) and says so.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Engine, GenerationParams, GenerationResult } from '../engine/engine.js';
import { loadPackageEngine } from '../engine/loadPackage.js';
import type { Manifest } from '../model/manifest.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../model/onnxBackend.js';
import { createTestModelPackage } from './benchModel.js';
import { modesTable, summarizeMode, table, type ModeRun, type ModeSummary } from './benchReport.js';
import { PROMPTS, promptTokens } from './prompts.js';

const CONTEXT_LENGTHS = [128, 512, 2048];
const CONTEXT_NEW_TOKENS = 32;

interface Mode {
  label: string;
  params: Partial<GenerationParams>;
  /** Only in the main table (the context-length table keeps the three modes). */
  swept?: boolean;
}

/** The modes compared; `sweep` adds fixed draft lengths, to set the adaptive draft against the best fixed d. */
function modes(exitLayer: number, draftLength: number, sweep: readonly number[], confidence: number | undefined): Mode[] {
  return [
    { label: 'full', params: { mode: 'full' } },
    { label: 'self-speculative', params: { mode: 'self-speculative', exitLayer, draftLength } },
    {
      label: 'self-speculative adaptive',
      params: { mode: 'self-speculative', exitLayer, draftLength, adaptiveDraft: true, draftConfidenceThreshold: confidence },
    },
    ...sweep.map((d): Mode => ({ label: `self-speculative d=${d}`, params: { mode: 'self-speculative', exitLayer, draftLength: d }, swept: true })),
    { label: 'early-exit', params: { mode: 'early-exit', exitLayer } },
  ];
}

/** Fill-in-the-middle (prefix-suffix-middle order) when the package has FIM tokens, else the prefix alone. */
/** A prompt of exactly `length` tokens: the benchmark's code, repeated. */
function contextOf(engine: Engine, length: number): number[] {
  const code = engine.tokenize(PROMPTS.map((p) => p.prefix + p.suffix).join('\n'));
  return Array.from({ length }, (_, i) => code[i % code.length]);
}

async function withCpuTime(generate: () => Promise<GenerationResult>): Promise<{ result: GenerationResult; cpuMs: number }> {
  const before = process.cpuUsage();
  const result = await generate();
  const used = process.cpuUsage(before);
  return { result, cpuMs: (used.user + used.system) / 1000 };
}

async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      'exit-layer': { type: 'string' },
      draft: { type: 'string' },
      'max-tokens': { type: 'string', default: '64' },
      provider: { type: 'string', default: 'cpu' },
      threads: { type: 'string', default: '1' },
      out: { type: 'string', default: 'dist/bench-results.json' },
      'draft-sweep': { type: 'string', default: '' },
      confidence: { type: 'string' },
    },
  });
  const provider = values.provider as ExecutionProvider;
  if (!EXECUTION_PROVIDERS.includes(provider)) throw new Error(`--provider must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
  const maxNewTokens = Number(values['max-tokens']);
  // One thread per session by default: CPU time per token is then the work done, whatever else runs on the machine.
  const threads = Number(values.threads);
  for (const [name, value] of [['threads', threads], ['max-tokens', maxNewTokens]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  }

  const model = values.model ? { dir: values.model, description: `package ${values.model}` } : await createTestModelPackage();
  process.stderr.write(`bench: model = ${model.description}\n`);
  const engine = await loadPackageEngine(model.dir, { executionProvider: provider, intraOpNumThreads: threads });
  try {
    const info = engine.info();
    const L = info.config.numLayers;
    const exitLayer = values['exit-layer'] === undefined ? info.recommendations.exitLayer : Number(values['exit-layer']);
    const draftLength = values.draft === undefined ? info.recommendations.draftLength : Number(values.draft);
    const sweep = values['draft-sweep'] === '' ? [] : values['draft-sweep'].split(',').map(Number);
    const confidence = values.confidence === undefined ? undefined : Number(values.confidence);
    const benchModes = modes(exitLayer, draftLength, sweep, confidence);

    // Mode by mode (a mode's sessions are built once: another exit layer or mode rebuilds them), every prompt. A
    // first 1-token request in the mode fills the prompt cache, so that every measured run prefills just the last
    // prompt token and its CPU time is decoding work. Full decoding runs first: the others are checked against it.
    const runs = new Map<string, ModeRun[]>(benchModes.map((m) => [m.label, []]));
    const fullTokens = new Map<string, string>();
    const fullGenerated: number[] = [];
    const mismatches: Record<string, string[]> = {};
    const arrangeMs: Record<string, number> = {};
    for (const mode of benchModes) {
      const warm = await engine.generate(promptTokens(engine, PROMPTS[0]), { ...mode.params, maxNewTokens: 8 });
      arrangeMs[mode.label] = warm.stats.arrangeMs;
      for (const prompt of PROMPTS) {
        const tokens = promptTokens(engine, prompt);
        await engine.generate(tokens, { ...mode.params, maxNewTokens: 1 });
        const { result, cpuMs } = await withCpuTime(() => engine.generate(tokens, { ...mode.params, maxNewTokens }));
        runs.get(mode.label)?.push({ stats: result.stats, cpuMs });
        if (mode.label === 'full') {
          fullTokens.set(prompt.name, result.tokens.join());
          fullGenerated.push(...result.tokens);
        }
        else if (mode.params.mode === 'self-speculative' && result.tokens.join() !== fullTokens.get(prompt.name)) {
          (mismatches[mode.label] ??= []).push(prompt.name);
        }
      }
      process.stderr.write('.');
    }
    process.stderr.write('\n');
    const fullSummary = summarizeMode('full', runs.get('full') ?? [], L, null);
    const summaries: ModeSummary[] = benchModes.map((m) => summarizeMode(m.label, runs.get(m.label) ?? [], L, fullSummary));
    const identical: Record<string, string> = { full: '(reference)' };
    for (const m of benchModes.filter((m) => m.params.mode === 'self-speculative')) {
      const bad = mismatches[m.label] ?? [];
      identical[m.label] = bad.length === 0 ? `yes (${PROMPTS.length}/${PROMPTS.length})` : `NO: ${bad.join(', ')}`;
    }

    // Decoding cost per token as the context grows (wall and CPU; the prompt cache is filled first, as above).
    const contexts: { context: number; msPerToken: Record<string, number>; cpuMsPerToken: Record<string, number> }[] = [];
    const contextModes = benchModes.filter((m) => !m.params.adaptiveDraft && !m.swept);
    for (const length of CONTEXT_LENGTHS) contexts.push({ context: length, msPerToken: {}, cpuMsPerToken: {} });
    for (const mode of contextModes) {
      for (const [i, length] of CONTEXT_LENGTHS.entries()) {
        const tokens = contextOf(engine, length);
        await engine.generate(tokens, { ...mode.params, maxNewTokens: 1 });
        const { result, cpuMs } = await withCpuTime(() => engine.generate(tokens, { ...mode.params, maxNewTokens: CONTEXT_NEW_TOKENS }));
        contexts[i].msPerToken[mode.label] = (result.stats.totalMs - result.stats.prefillMs) / result.stats.generatedTokens;
        contexts[i].cpuMsPerToken[mode.label] = cpuMs / result.stats.generatedTokens;
      }
    }
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    // how often the full model's greedy token is one the draft head cannot propose (a sure rejection)
    const draftIds = (info.manifest as Manifest | null)?.draftHead?.ids ?? null;
    const draftSet = new Set(draftIds ?? []);
    const inDraft = draftIds === null ? fullGenerated.length : fullGenerated.filter((t) => draftSet.has(t)).length;
    const draftCoverage = { tokens: fullGenerated.length, inDraftVocabulary: inDraft, draftVocabulary: draftIds?.length ?? info.config.vocabSize };

    const contextLabels = Object.keys(contexts[0].msPerToken);
    const report = [
      `model: ${model.description}`,
      `device: ${info.device}, ${threads} thread(s) per session; E = ${exitLayer} of L = ${L}, d = ${draftLength}; greedy; ${PROMPTS.length} prompts x ${maxNewTokens} new tokens`,
      '',
      modesTable(summaries, identical),
      '',
      'ms/token (decoding, wall / CPU) vs context length:',
      table(
        ['context', ...contextLabels],
        contexts.map((c) => [c.context, ...contextLabels.map((l) => `${c.msPerToken[l].toFixed(2)} / ${c.cpuMsPerToken[l].toFixed(2)}`)]),
      ),
      '',
      `full model's greedy tokens inside the draft head's vocabulary (${draftCoverage.draftVocabulary} of ${info.config.vocabSize} tokens): ` +
        `${draftCoverage.inDraftVocabulary} of ${draftCoverage.tokens} (${((100 * draftCoverage.inDraftVocabulary) / Math.max(1, draftCoverage.tokens)).toFixed(1)}%)`,
      `peak RSS: ${peakRssMiB.toFixed(0)} MiB; sessions built per mode (ms): ${Object.entries(arrangeMs).map(([m, ms]) => `${m} ${ms.toFixed(0)}`).join(', ')}`,
      `CPU ms/token: CPU time of this process per token, ${threads} onnxruntime thread(s) per session (robust to a loaded machine when 1)`,
      'analytic bound: Leviathan et al.\'s cost model, T / (g c + 1): T = measured tokens per step, g = mean drafts per step, c = E/L',
    ].join('\n');
    process.stdout.write(report + '\n');
    const json = {
      model: model.description,
      device: info.device,
      threadsPerSession: threads,
      exitLayer,
      numLayers: L,
      draftLength,
      maxNewTokens,
      prompts: PROMPTS.length,
      modes: summaries,
      identicalToFull: identical,
      msPerTokenVsContext: contexts,
      peakRssMiB,
      arrangeMs,
      draftCoverage,
      date: new Date().toISOString(),
    };
    writeFileSync(values.out, JSON.stringify(json, null, 2) + '\n');
    process.stderr.write(`bench: wrote ${values.out}\n`);
    if (Object.keys(mismatches).length > 0) process.exitCode = 1;
  } finally {
    await engine.dispose();
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
