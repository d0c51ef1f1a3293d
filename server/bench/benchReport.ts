/** Aggregation and the printed tables of `npm run bench`. */
import { analyticSpeedupBound, type GenerationStats } from '../engine/stats.js';

/** One generation: its stats and the CPU time the process spent on it (robust to other processes on the machine). */
export interface ModeRun {
  stats: GenerationStats;
  cpuMs: number;
}

export interface ModeSummary {
  label: string;
  generatedTokens: number;
  decodeMs: number;
  tokensPerSecond: number;
  msPerToken: number;
  drafted: number;
  accepted: number;
  acceptanceRate: number;
  meanDraftLength: number;
  /** Leviathan et al.'s cost model (stats.ts) with pooled tokens and drafts per step, c = E / L (1 if not speculative). */
  analyticSpeedupBound: number;
  speedupOverFull: number;
  /** CPU time of the process per generated token, and the speedup it implies (onnxruntime runs single-threaded). */
  cpuMsPerToken: number;
  cpuSpeedupOverFull: number;
  stageMs: { prefill: number; draft: number; verify: number; head: number };
  /** Mean wall time of one drafted token (its head included), and that over full decoding's ms per token. */
  draftTokenMs: number;
  draftTokenCost: number;
}

/** Pools one mode's runs over all prompts: tokens over decoding time (prefill excluded, as in the stats). */
export function summarizeMode(label: string, modeRuns: readonly ModeRun[], numLayers: number, full: ModeSummary | null): ModeSummary {
  const runs = modeRuns.map((run) => run.stats);
  const sum = (pick: (s: GenerationStats) => number): number => runs.reduce((total, s) => total + pick(s), 0);
  const cpuMsPerToken = modeRuns.reduce((total, run) => total + run.cpuMs, 0) / sum((s) => s.generatedTokens);
  const generatedTokens = sum((s) => s.generatedTokens);
  const decodeMs = sum((s) => s.totalMs - s.prefillMs);
  const drafted = sum((s) => s.drafted);
  const accepted = sum((s) => s.accepted);
  const steps = sum((s) => s.steps);
  const acceptanceRate = drafted === 0 ? 0 : accepted / drafted;
  const meanDraftLength = steps === 0 ? 0 : drafted / steps;
  const tokensPerSecond = (generatedTokens * 1000) / decodeMs;
  const exitLayer = runs[0]?.exitLayer ?? numLayers;
  return {
    label,
    generatedTokens,
    decodeMs,
    tokensPerSecond,
    msPerToken: decodeMs / generatedTokens,
    drafted,
    accepted,
    acceptanceRate,
    meanDraftLength,
    analyticSpeedupBound: drafted === 0 ? 1 : analyticSpeedupBound((accepted + steps) / steps, meanDraftLength, exitLayer / numLayers),
    speedupOverFull: full === null ? 1 : tokensPerSecond / full.tokensPerSecond,
    cpuMsPerToken,
    cpuSpeedupOverFull: full === null ? 1 : full.cpuMsPerToken / cpuMsPerToken,
    draftTokenMs: drafted === 0 ? 0 : sum((s) => s.draftMs) / drafted,
    draftTokenCost: drafted === 0 || full === null ? 0 : sum((s) => s.draftMs) / drafted / full.msPerToken,
    stageMs: {
      prefill: sum((s) => s.prefillMs),
      draft: sum((s) => s.draftMs),
      verify: sum((s) => s.verifyMs),
      head: sum((s) => s.headMs),
    },
  };
}

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const line = (row: string[]): string => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export function modesTable(modes: readonly ModeSummary[], identical: Record<string, string>): string {
  return table(
    ['mode', 'tokens', 'tokens/s', 'speedup vs full', 'acceptance', 'mean d', 'analytic bound', 'ms/token', 'draft token (x full)', 'CPU ms/token', 'speedup (CPU)', 'identical to full'],
    modes.map((m) => [
      m.label,
      m.generatedTokens,
      m.tokensPerSecond.toFixed(1),
      `${m.speedupOverFull.toFixed(2)}x`,
      m.drafted === 0 ? '-' : `${(100 * m.acceptanceRate).toFixed(1)}%`,
      m.drafted === 0 ? '-' : m.meanDraftLength.toFixed(2),
      m.drafted === 0 ? '-' : `${m.analyticSpeedupBound.toFixed(2)}x`,
      m.msPerToken.toFixed(2),
      m.drafted === 0 ? '-' : `${m.draftTokenMs.toFixed(2)} (${m.draftTokenCost.toFixed(2)})`,
      m.cpuMsPerToken.toFixed(2),
      `${m.cpuSpeedupOverFull.toFixed(2)}x`,
      identical[m.label] ?? '-',
    ]),
  );
}
