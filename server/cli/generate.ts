// `layerskip generate --model <pkg> (--prompt TEXT | --prompt-file F) [--mode full|early-exit|self-speculative]
//   [--exit-layer E] [--draft d] [--adaptive [--confidence C]] [--max-tokens N] [--temperature T --top-k K --top-p P --seed S]
//   [--stop STR]... [--time-budget MS] [--provider cpu|webgpu|cuda] [--threads N] [--json]`
// Streams the generated text to stdout as it is accepted, then prints the generation's stats to stderr.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { GenerationParams, GenerationResult } from '../engine/engine.js';
import { loadPackageEngine } from '../engine/loadPackage.js';
import { DECODING_MODES, type DecodingMode } from '../engine/params.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../model/onnxBackend.js';

const USAGE =
  'usage: layerskip generate --model <package-dir> (--prompt TEXT | --prompt-file FILE) ' +
  '[--mode full|early-exit|self-speculative] [--exit-layer E] [--draft d] [--adaptive [--confidence C]] [--max-tokens N] ' +
  '[--temperature T] [--top-k K] [--top-p P] [--seed S] [--stop STR]... [--time-budget MS] ' +
  '[--provider cpu|webgpu|cuda] [--threads N] [--json]';

const OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string' },
  'prompt-file': { type: 'string' },
  mode: { type: 'string' },
  'exit-layer': { type: 'string' },
  draft: { type: 'string' },
  adaptive: { type: 'boolean', default: false },
  confidence: { type: 'string' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'time-budget': { type: 'string' },
  provider: { type: 'string', default: 'cpu' },
  threads: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** A numeric option, or undefined when absent (the engine's defaults apply; it validates ranges). */
function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new Error(`--${name}: "${value}" is not a number\n${USAGE}`);
  return parsed;
}

function readPrompt(values: { prompt?: string; 'prompt-file'?: string }): string {
  if ((values.prompt === undefined) === (values['prompt-file'] === undefined)) {
    throw new Error(`give exactly one of --prompt and --prompt-file\n${USAGE}`);
  }
  return values.prompt ?? readFileSync(values['prompt-file'] as string, 'utf8');
}

export function formatStats(result: GenerationResult): string {
  const s = result.stats;
  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  return [
    `stop reason        ${result.stopReason}`,
    `mode               ${s.mode} (E=${s.exitLayer}, d=${s.draftLength}) on ${s.device}`,
    `prompt tokens      ${s.promptTokens} (${s.promptCacheHitTokens} from the prompt cache)`,
    `generated tokens   ${s.generatedTokens} in ${s.steps} steps`,
    `time to 1st token  ${ms(s.timeToFirstTokenMs)}`,
    `tokens/s           ${s.tokensPerSecond.toFixed(2)} (decoding, prefill excluded)`,
    `drafted / accepted ${s.drafted} / ${s.accepted} (acceptance ${(100 * s.acceptanceRate).toFixed(1)}%)`,
    `stages             prefill ${ms(s.prefillMs)}, draft ${ms(s.draftMs)}, verify ${ms(s.verifyMs)}, head ${ms(s.headMs)}, total ${ms(s.totalMs)}`,
    `speedup bound      ${s.analyticSpeedupBound.toFixed(2)}x (Leviathan et al., c = E/L), ${s.estimatedSpeedup.toFixed(2)}x (c measured)`,
  ].join('\n');
}

export const command = {
  summary: 'generate text with full, early-exit or self-speculative decoding (streams text, prints stats)',
  usage: USAGE,
  async run(args: string[]): Promise<void> {
    const { values } = parseArgs({ args, options: OPTIONS });
    if (!values.model) throw new Error(`--model is required\n${USAGE}`);
    const prompt = readPrompt(values);
    const provider = values.provider as ExecutionProvider;
    if (!EXECUTION_PROVIDERS.includes(provider)) throw new Error(`--provider must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
    if (values.mode !== undefined && !DECODING_MODES.includes(values.mode as DecodingMode)) {
      throw new Error(`--mode must be one of ${DECODING_MODES.join(', ')}`);
    }
    const params: Partial<GenerationParams> = {
      mode: values.mode as DecodingMode | undefined,
      exitLayer: numberOption(values['exit-layer'], 'exit-layer'),
      draftLength: numberOption(values.draft, 'draft'),
      adaptiveDraft: values.adaptive,
      draftConfidenceThreshold: numberOption(values.confidence, 'confidence'),
      maxNewTokens: numberOption(values['max-tokens'], 'max-tokens'),
      temperature: numberOption(values.temperature, 'temperature'),
      topK: numberOption(values['top-k'], 'top-k'),
      topP: numberOption(values['top-p'], 'top-p'),
      seed: numberOption(values.seed, 'seed'),
      stopStrings: values.stop,
      timeBudgetMs: numberOption(values['time-budget'], 'time-budget'),
    };
    const engine = await loadPackageEngine(values.model, { executionProvider: provider, intraOpNumThreads: numberOption(values.threads, 'threads') });
    try {
      const controller = new AbortController();
      const cancel = (): void => controller.abort();
      process.once('SIGINT', cancel); // Ctrl-C ends the generation after the current step, stats still printed
      const result = await engine.generate(prompt, params, {
        signal: controller.signal,
        onText: values.json ? undefined : (delta) => process.stdout.write(delta),
      }).finally(() => process.off('SIGINT', cancel));
      if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
      else process.stderr.write(`\n\n${formatStats(result)}\n`);
    } finally {
      await engine.dispose();
    }
  },
};
