// The status bar item: "⚡ 38 ms · E6 · 72% · 2.1×" after a completion (latency, exit layer, draft acceptance,
// measured speedup over full decoding), a spinner while generating, the server's loading/error states, and a
// tooltip with the details. Clicking it opens the LayerSkip command menu.
import * as vscode from 'vscode';
import type { CompletionStats } from '../server/protocol.js';
import type { ClientState } from './serverClient.js';

export const MENU_COMMAND = 'layerskip.showMenu';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('layerskip.status', vscode.StatusBarAlignment.Right, 100);
  private state: ClientState | null = null;
  private last: CompletionStats | null = null;
  private generating = false;
  private enabled = true;

  constructor() {
    this.item.name = 'LayerSkip';
    this.item.command = MENU_COMMAND;
    this.render();
    this.item.show();
  }

  setState(state: ClientState): void {
    this.state = state;
    if (state.phase !== 'ready') this.generating = false;
    this.render();
  }

  setStats(stats: CompletionStats): void {
    if (stats.delivered || this.last === null) this.last = stats;
    this.render();
  }

  setGenerating(generating: boolean): void {
    this.generating = generating;
    this.render();
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.render();
  }

  dispose(): void {
    this.item.dispose();
  }

  private render(): void {
    const phase = this.state?.phase ?? 'starting';
    this.item.backgroundColor = undefined;
    if (phase === 'error' || phase === 'down') {
      this.item.text = '$(error) LayerSkip';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else if (phase === 'starting' || phase === 'loading') {
      this.item.text = '$(loading~spin) LayerSkip';
    } else if (!this.enabled) {
      this.item.text = '$(circle-slash) LayerSkip';
    } else {
      const spinner = this.generating ? '$(loading~spin) ' : '';
      this.item.text = spinner + (this.last === null ? '⚡ LayerSkip' : summary(this.last));
    }
    this.item.tooltip = this.tooltip();
  }

  private tooltip(): vscode.MarkdownString {
    const md = new vscode.MarkdownString('', true);
    md.appendMarkdown('**LayerSkip Code Completion**\n\n');
    const state = this.state;
    if (state !== null && state.phase !== 'ready') md.appendMarkdown(`${capitalize(state.phase)}: ${escape(state.message)}\n\n`);
    if (state?.model) md.appendMarkdown(`Model: ${escape(state.model.name)} (${state.model.numLayers} layers, ${state.model.hasFim ? 'fill-in-the-middle' : 'prefix-only prompts'})\n\n`);
    if (!this.enabled) md.appendMarkdown('Inline completions are turned off.\n\n');
    const s = this.last;
    if (s !== null) {
      md.appendMarkdown(
        [
          `| Last completion | |`,
          `|---|---|`,
          `| Latency | ${s.latencyMs.toFixed(0)} ms (first line ${s.firstLineMs === null ? '–' : `${s.firstLineMs.toFixed(0)} ms`})${s.lookAhead ? ', prepared ahead while the previous suggestion was shown' : ''} |`,
          `| Time to first token | ${s.timeToFirstTokenMs.toFixed(0)} ms |`,
          `| Tokens/s | ${s.tokensPerSecond.toFixed(1)} (${s.generatedTokens} tokens) |`,
          `| Drafted / accepted | ${s.drafted} / ${s.accepted} (${percent(s.acceptanceRate)}) |`,
          `| Speedup vs full decoding | ${s.estimatedSpeedup.toFixed(2)}× estimated from this run's draft/verify costs; ${s.speedup === null ? 'not measured at load' : `${s.speedup.toFixed(2)}× vs full-decoding tokens/s measured at load`} |`,
          `| Mode | ${s.mode}, exit layer ${s.exitLayer}, draft length ${s.draftLength} |`,
          `| Prompt | ${s.promptTokens} tokens, ${s.promptCacheHitTokens} from cache |`,
          `| Device | ${escape(s.device)} |`,
        ].join('\n') + '\n\n',
      );
    }
    md.appendMarkdown('Click for LayerSkip commands.');
    return md;
  }
}

/** "⚡ 38 ms · E6 · 72% · 2.1×" (full decoding has no exit layer or drafts: "⚡ 38 ms · full"). The speedup is
 * this run's estimate (see CompletionStats.estimatedSpeedup); the tooltip also shows the ratio to load-time decoding. */
export function summary(s: CompletionStats): string {
  const parts = [`⚡ ${s.latencyMs.toFixed(0)} ms`];
  if (s.mode === 'full') parts.push('full');
  else parts.push(`E${s.exitLayer}`);
  if (s.mode === 'self-speculative' && s.drafted > 0) parts.push(percent(s.acceptanceRate));
  if (s.mode === 'self-speculative') parts.push(`${s.estimatedSpeedup.toFixed(1)}×`);
  return parts.join(' · ');
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
