// `npm run bench:replay [-- --model DIR] [--file SRC] [--chars N] [--max-tokens N] [--seed S] [--mode M] [--out FILE]
//   [--remote-url URL --remote-model NAME]` (a team server generates; its own CPU is not in the server's figures)
// Types a real source file character by character into the real LSP server (dist/server.js over stdio) with
// human-like pauses, behaving like the extension does: cancel the in-flight request on each keystroke, show the
// rest of a suggestion from the typing-as-suggested cache when the user types what it predicted, debounce by the
// typing rhythm, stream. Reports keystroke -> first ghost text (p50/p95), the cache-hit share, the server's
// prompt-cache reuse and its CPU time. Not a timed test: the numbers depend on the machine.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
// The bench plays the extension's part, so it uses the extension's own (vscode-free) cache and debouncer.
import { AdaptiveDebouncer } from '../../extension/debouncer.js';
import { SuggestionCache } from '../../extension/suggestionCache.js';
import { DEFAULT_MODEL_DIR, DEFAULT_SETTINGS, type ModeSetting, type ServerSettings } from '../protocol.js';
import { createTestModelPackage } from './benchModel.js';
import { FIXED_DECODING, LspSession, percentile, processUsage, textOf } from './replayClient.js';

interface KeystrokeOutcome {
  /** ms from the keystroke to the first ghost text; null when none appeared before the next keystroke. */
  ghostMs: number | null;
  fromCache: boolean;
  requested: boolean;
}

/** Deterministic pauses (ms) after typing `ch`: ~60 wpm inside words, longer after punctuation and at line ends. */
function pauseAfter(ch: string, random: () => number): number {
  const jitter = 0.6 + 0.8 * random();
  if (ch === '\n') return (500 + 900 * random()) * jitter;
  if (/[;{}(),:]/.test(ch)) return (200 + 300 * random()) * jitter;
  if (ch === ' ') return 150 * jitter;
  return 110 * jitter;
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function positionOf(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

async function modelPath(option: string | undefined): Promise<{ dir: string; description: string }> {
  if (option !== undefined) return { dir: resolve(option), description: option };
  const bundled = join(__dirname, '..', DEFAULT_MODEL_DIR);
  if (existsSync(join(bundled, 'manifest.json'))) return { dir: bundled, description: `bundled default model (${bundled})` };
  return createTestModelPackage();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      file: { type: 'string', default: join(__dirname, '..', 'server', 'completion', 'prompt.ts') },
      chars: { type: 'string', default: '300' },
      // A random model rarely ends a line, so its suggestions run to this cap (a trained one stops at line ends).
      'max-tokens': { type: 'string', default: String(DEFAULT_SETTINGS.maxNewTokens) },
      seed: { type: 'string', default: '1' },
      mode: { type: 'string', default: FIXED_DECODING.mode },
      'remote-url': { type: 'string' },
      'remote-model': { type: 'string' },
      out: { type: 'string', default: 'bench-replay.json' },
    },
  });
  const model = await modelPath(values.model);
  const source = readFileSync(values.file, 'utf8');
  const chars = Number(values.chars);
  // Write about `chars` characters of whole lines from the middle of the file into an empty line, as when adding
  // code to an existing file: the cursor ends each line (nothing after it but the following lines), and the text
  // around the span is already there.
  const start = source.indexOf('\n', Math.floor(source.length * 0.4)) + 1;
  const end = source.indexOf('\n', start + chars - 1);
  const typed = source.slice(start, end < 0 ? source.length : end);
  let text = source.slice(0, start) + source.slice(start + typed.length);
  const uri = 'file:///replay/' + values.file.split('/').pop();
  const random = seededRandom(Number(values.seed));

  const settings: Partial<ServerSettings> = {
    modelPath: model.dir,
    maxNewTokens: Number(values['max-tokens']),
    ...FIXED_DECODING,
    mode: values.mode as ModeSetting,
    remoteUrl: values['remote-url'] ?? null,
    remoteModel: values['remote-model'] ?? null,
  };
  const session = await LspSession.start(join(__dirname, 'server.js'), settings, true);
  const ready = await session.waitForPhase('ready', 300_000);
  await session.open(uri, text, 'typescript');
  const cache = new SuggestionCache();
  const debouncer = new AdaptiveDebouncer();
  const outcomes: KeystrokeOutcome[] = [];
  /** A few suggestions next to what the user actually typed after them, to judge their quality by eye. */
  const samples: { suggestion: string; typedNext: string }[] = [];
  let inFlight: CancellationTokenSource | null = null;
  const cpuBefore = processUsage(session.process.pid ?? 0);
  const wallStart = performance.now();

  for (let i = 0; i < typed.length; i++) {
    inFlight?.cancel();
    const offset = start + i;
    const ch = typed[i];
    await session.insert(uri, positionOf(text, offset), ch);
    text = text.slice(0, offset) + ch + text.slice(offset);
    const cursor = offset + 1;
    const keyAt = performance.now();
    const view = { uri, offset: cursor, before: text.slice(Math.max(0, cursor - 1000), cursor), after: text.slice(cursor, cursor + 1000) };
    const outcome: KeystrokeOutcome = { ghostMs: null, fromCache: false, requested: false };
    outcomes.push(outcome);
    const pause = pauseAfter(ch, random);
    if (cache.lookup(view) !== null) {
      outcome.ghostMs = performance.now() - keyAt;
      outcome.fromCache = true;
      await sleep(pause);
      continue;
    }
    const delay = debouncer.keystroke(keyAt);
    if (delay >= pause) {
      await sleep(pause); // the next key comes first: no request
      continue;
    }
    await sleep(delay);
    const cancel = new CancellationTokenSource();
    inFlight = cancel;
    outcome.requested = true;
    const shown = (suggestion: string): void => {
      if (suggestion === '' || cancel.token.isCancellationRequested) return;
      outcome.ghostMs ??= performance.now() - keyAt;
      cache.store(view, suggestion);
      const sample = { suggestion, typedNext: typed.slice(i + 1, i + 1 + suggestion.length) };
      if (samples.at(-1)?.typedNext === sample.typedNext) samples[samples.length - 1] = sample; // it grew
      else if (samples.length < 8) samples.push(sample);
    };
    const request = session
      .complete(uri, positionOf(text, cursor), { cancel, onPartial: (items) => shown(textOf({ items })) })
      .then((list) => shown(textOf(list)))
      .catch(() => undefined); // cancelled by the next keystroke
    await Promise.race([request, sleep(pause - delay)]);
    if (performance.now() - keyAt < pause) await sleep(pause - (performance.now() - keyAt));
  }
  inFlight?.cancel();
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpuAfter = processUsage(session.process.pid ?? 0);
  await session.close();

  const shownGhosts = outcomes.filter((o) => o.ghostMs !== null);
  const fromModel = shownGhosts.filter((o) => !o.fromCache).map((o) => o.ghostMs ?? 0);
  const stats = session.stats;
  const promptTokens = stats.reduce((sum, s) => sum + s.promptTokens, 0);
  const cachedTokens = stats.reduce((sum, s) => sum + s.promptCacheHitTokens, 0);
  const report = {
    model: model.description,
    modelName: ready.model?.name,
    device: ready.model?.device,
    remote: ready.model?.device === 'remote' ? ready.model.path : null,
    mode: values.mode,
    file: values.file,
    maxNewTokens: Number(values['max-tokens']),
    keystrokes: outcomes.length,
    requests: outcomes.filter((o) => o.requested).length,
    completionsRun: stats.length,
    completionsWithSuggestion: stats.filter((s) => s.delivered).length,
    keystrokesWithGhostText: shownGhosts.length,
    cacheHitShare: shownGhosts.length === 0 ? 0 : shownGhosts.filter((o) => o.fromCache).length / shownGhosts.length,
    /** Typed characters the ghost text on screen had predicted (each one a keystroke served by the typing cache). */
    predictedCharacterShare: outcomes.filter((o) => o.fromCache).length / outcomes.length,
    keystrokeToFirstGhostMs: {
      allP50: percentile(shownGhosts.map((o) => o.ghostMs ?? 0), 50),
      allP95: percentile(shownGhosts.map((o) => o.ghostMs ?? 0), 95),
      fromModelP50: percentile(fromModel, 50),
      fromModelP95: percentile(fromModel, 95),
    },
    serverMs: {
      timeToFirstTokenP50: percentile(stats.map((s) => s.timeToFirstTokenMs), 50),
      firstLineP50: percentile(stats.flatMap((s) => (s.firstLineMs === null ? [] : [s.firstLineMs])), 50),
      tokensPerSecondP50: percentile(stats.map((s) => s.tokensPerSecond), 50),
    },
    serverPromptCacheReuse: promptTokens === 0 ? 0 : cachedTokens / promptTokens,
    meanAcceptanceRate: stats.length === 0 ? null : stats.reduce((sum, s) => sum + s.acceptanceRate, 0) / stats.length,
    serverCpuSeconds: cpuBefore && cpuAfter ? cpuAfter.cpuSeconds - cpuBefore.cpuSeconds : null,
    wallSeconds,
    serverRssMiB: cpuAfter ? cpuAfter.rssBytes / 2 ** 20 : null,
    samples,
  };
  writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
  const ms = (v: number | null): string => (v === null ? '–' : `${v.toFixed(0)} ms`);
  const k = report.keystrokeToFirstGhostMs;
  process.stdout.write(
    [
      `replay of ${report.keystrokes} keystrokes from ${values.file}`,
      `model: ${report.model} (${report.device}); suggestions capped at ${report.maxNewTokens} tokens`,
      `requests sent: ${report.requests} (debounce skipped ${report.keystrokes - report.requests - shownGhosts.filter((o) => o.fromCache).length}), completions run: ${report.completionsRun} (${report.completionsWithSuggestion} with a suggestion)`,
      `keystrokes with ghost text: ${report.keystrokesWithGhostText}; from the typing cache: ${(report.cacheHitShare * 100).toFixed(1)}%`,
      `typed characters the ghost text had predicted: ${(report.predictedCharacterShare * 100).toFixed(1)}%`,
      `keystroke -> first ghost text: p50 ${ms(k.allP50)}, p95 ${ms(k.allP95)} (model only: p50 ${ms(k.fromModelP50)}, p95 ${ms(k.fromModelP95)})`,
      `server: time to first token p50 ${ms(report.serverMs.timeToFirstTokenP50)}, first line p50 ${ms(report.serverMs.firstLineP50)}, ${report.serverMs.tokensPerSecondP50?.toFixed(0) ?? '–'} tokens/s`,
      `server prompt-cache reuse: ${(report.serverPromptCacheReuse * 100).toFixed(1)}% of prompt tokens`,
      `server CPU: ${report.serverCpuSeconds?.toFixed(1) ?? '–'} s over ${wallSeconds.toFixed(1)} s wall; RSS ${report.serverRssMiB?.toFixed(0) ?? '–'} MiB`,
      `written to ${values.out}`,
    ].join('\n') + '\n',
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:replay: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
