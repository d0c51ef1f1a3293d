// `npm run bench:storm [-- --model DIR] [--rate 50] [--seconds 60] [--out FILE]`
// A keystroke storm: an edit plus an inline completion request every 1/rate seconds for `seconds`, none of them
// cancelled by the client (the worst case: the server itself must drop stale work). Samples the server's memory
// every second and reports whether it stayed alive and bounded, and how requests were answered.
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_DIR } from '../protocol.js';
import { createTestModelPackage } from './benchModel.js';
import { FIXED_DECODING, LspSession, percentile, processUsage, textOf } from './replayClient.js';

const DOCUMENT = 'export function total(items: { price: number }[]): number {\n  let sum = 0;\n  for (const item of items) {\n    ';
const TYPED = 'sum += item.price;\n    if (sum > 1000) break;\n    ';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      rate: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '60' },
      out: { type: 'string', default: 'bench-storm.json' },
    },
  });
  const bundled = join(__dirname, '..', DEFAULT_MODEL_DIR);
  const model = values.model !== undefined
    ? { dir: resolve(values.model), description: values.model }
    : existsSync(join(bundled, 'manifest.json')) ? { dir: bundled, description: `bundled default model (${bundled})` } : await createTestModelPackage();
  const session = await LspSession.start(join(__dirname, 'server.js'), { modelPath: model.dir, ...FIXED_DECODING }, true);
  await session.waitForPhase('ready', 300_000);
  const pid = session.process.pid ?? 0;
  const uri = 'file:///storm/total.ts';
  let text = DOCUMENT;
  await session.open(uri, text);
  const intervalMs = 1000 / Number(values.rate);
  const durationMs = Number(values.seconds) * 1000;
  const rss: number[] = [];
  const latencies: number[] = [];
  let sent = 0;
  let withItems = 0;
  let empty = 0;
  let errors = 0;
  const pending: Promise<void>[] = [];
  const startUsage = processUsage(pid);
  const started = performance.now();
  const sampler = setInterval(() => {
    const usage = processUsage(pid);
    if (usage) rss.push(usage.rssBytes);
  }, 1000);

  for (let i = 0; performance.now() - started < durationMs; i++) {
    // Type the next character (wrapping around: delete what was typed and start over, so the document stays small).
    if (i % TYPED.length === 0 && i > 0) {
      text = DOCUMENT;
      await session.change(uri, text);
    }
    const ch = TYPED[i % TYPED.length];
    const lines = text.split('\n');
    const position = { line: lines.length - 1, character: lines[lines.length - 1].length };
    await session.insert(uri, position, ch);
    text += ch;
    const cursorLines = text.split('\n');
    const cursor = { line: cursorLines.length - 1, character: cursorLines[cursorLines.length - 1].length };
    const requestStart = performance.now();
    sent++;
    pending.push(
      session.complete(uri, cursor).then(
        (list) => {
          latencies.push(performance.now() - requestStart);
          if (textOf(list) === '') empty++;
          else withItems++;
        },
        () => void errors++,
      ),
    );
    const next = started + (i + 1) * intervalMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  await Promise.all(pending);
  clearInterval(sampler);
  const alive = await session.waitForPhase('ready', 5000).then(() => true, () => false);
  const endUsage = processUsage(pid);
  await session.close();

  const mib = (bytes: number | undefined): number | null => (bytes === undefined ? null : bytes / 2 ** 20);
  const report = {
    model: model.description,
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    requestsSent: sent,
    answered: latencies.length,
    answeredWithSuggestion: withItems,
    answeredEmpty: empty,
    errors,
    completionsRun: session.stats.length,
    responseP50Ms: percentile(latencies, 50),
    responseP95Ms: percentile(latencies, 95),
    serverAliveAfter: alive,
    rssStartMiB: mib(startUsage?.rssBytes),
    rssMaxMiB: mib(rss.length === 0 ? undefined : Math.max(...rss)),
    rssEndMiB: mib(endUsage?.rssBytes),
    rssFirstQuarterMaxMiB: mib(rss.length < 4 ? undefined : Math.max(...rss.slice(0, Math.floor(rss.length / 4)))),
    rssLastQuarterMaxMiB: mib(rss.length < 4 ? undefined : Math.max(...rss.slice(Math.floor((rss.length * 3) / 4)))),
    rssEvery10sMiB: rss.filter((_, i) => i % 10 === 0).map((bytes) => Math.round(bytes / 2 ** 20)),
    serverCpuSeconds: startUsage && endUsage ? endUsage.cpuSeconds - startUsage.cpuSeconds : null,
  };
  writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
  const f = (v: number | null, unit: string): string => (v === null ? '–' : `${v.toFixed(0)} ${unit}`);
  process.stdout.write(
    [
      `storm: ${report.rate} requests/s for ${report.seconds} s, no client-side cancellation; model: ${report.model}`,
      `sent ${sent}, answered ${report.answered} (${withItems} with a suggestion, ${empty} empty), errors ${errors}, model runs ${report.completionsRun}`,
      `response time p50 ${f(report.responseP50Ms, 'ms')}, p95 ${f(report.responseP95Ms, 'ms')}`,
      `server alive afterwards: ${alive}; RSS start ${f(report.rssStartMiB, 'MiB')}, max ${f(report.rssMaxMiB, 'MiB')}, end ${f(report.rssEndMiB, 'MiB')} (max in first quarter ${f(report.rssFirstQuarterMaxMiB, 'MiB')}, last quarter ${f(report.rssLastQuarterMaxMiB, 'MiB')})`,
      `RSS every 10 s (MiB): ${report.rssEvery10sMiB.join(' ')}`,
      `server CPU ${report.serverCpuSeconds?.toFixed(1) ?? '–'} s`,
      `written to ${values.out}`,
    ].join('\n') + '\n',
  );
  if (!alive || errors > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:storm: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
