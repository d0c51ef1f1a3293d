// Running figures per exit layer, from real completions: what the Set Exit Layer quick pick shows next to each layer.
import type { CompletionStats, LayerMeasurement } from '../protocol.js';

interface Totals {
  completions: number;
  drafted: number;
  accepted: number;
  latencyMs: number;
  tokens: number;
  decodeSeconds: number;
}

export class LayerMeasurements {
  private readonly byLayer = new Map<number, Totals>();

  record(stats: CompletionStats): void {
    if (stats.mode === 'full' || stats.generatedTokens === 0) return;
    const totals = this.byLayer.get(stats.exitLayer) ?? { completions: 0, drafted: 0, accepted: 0, latencyMs: 0, tokens: 0, decodeSeconds: 0 };
    totals.completions += 1;
    totals.drafted += stats.drafted;
    totals.accepted += stats.accepted;
    totals.latencyMs += stats.latencyMs;
    totals.tokens += stats.generatedTokens;
    if (stats.tokensPerSecond > 0) totals.decodeSeconds += stats.generatedTokens / stats.tokensPerSecond;
    this.byLayer.set(stats.exitLayer, totals);
  }

  clear(): void {
    this.byLayer.clear();
  }

  list(): LayerMeasurement[] {
    return [...this.byLayer.entries()]
      .sort(([a], [b]) => a - b)
      .map(([exitLayer, t]) => ({
        exitLayer,
        completions: t.completions,
        acceptanceRate: t.drafted === 0 ? 0 : t.accepted / t.drafted,
        meanLatencyMs: t.latencyMs / t.completions,
        tokensPerSecond: t.decodeSeconds === 0 ? 0 : t.tokens / t.decodeSeconds,
      }));
  }
}
