// The status bar item: "⚡ 180 ms · E6 d4 · 1.8×" (latency of the last suggestion, the operating point and its
// speedup over full decoding as the calibration measured it on this device; statusText.ts), a spinner while
// generating, calibration progress, the server's loading/error states, and a tooltip with the details. Clicking it
// opens the LayerSkip command menu.
import * as vscode from 'vscode';
import type { CalibrationStatus, CompletionStats } from '../server/protocol.js';
import type { ClientState } from './serverClient.js';
import { pointExplanation, pointLabel, statusText } from './statusText.js';

export const MENU_COMMAND = 'layerskip.showMenu';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('layerskip.status', vscode.StatusBarAlignment.Right, 100);
  private state: ClientState | null = null;
  private last: CompletionStats | null = null;
  private generating = false;
  private enabled = true;
  private calibration: CalibrationStatus = { state: 'none', progress: null, result: null, message: '' };

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

  setCalibration(calibration: CalibrationStatus): void {
    this.calibration = calibration;
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
      const spinner = this.generating || this.calibration.state === 'running' ? '$(loading~spin) ' : '';
      const status = statusText(this.last, this.state?.operatingPoint ?? null, this.calibration);
      this.item.text = spinner + status.text;
      if (this.state?.warning) this.item.text = `$(warning) ${this.item.text}`;
      if (status.slower || this.state?.warning) this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    }
    this.item.tooltip = this.tooltip();
  }

  private tooltip(): vscode.MarkdownString {
    const md = new vscode.MarkdownString('', true);
    md.appendMarkdown('**LayerSkip Code Completion**\n\n');
    const state = this.state;
    if (state !== null && state.phase !== 'ready') md.appendMarkdown(`${capitalize(state.phase)}: ${escape(state.message)}\n\n`);
    if (state?.warning) md.appendMarkdown(`$(warning) ${escape(state.warning)}\n\n`);
    if (state?.model?.device === 'remote') md.appendMarkdown(`Model: ${escape(state.model.name)} on the remote server ${escape(state.model.path)}\n\n`);
    else if (state?.model) md.appendMarkdown(`Model: ${escape(state.model.name)} (${state.model.numLayers} layers, ${state.model.hasFim ? 'fill-in-the-middle' : 'prefix-only prompts'})\n\n`);
    if (!this.enabled) md.appendMarkdown('Inline completions are turned off.\n\n');
    const point = state?.operatingPoint ?? null;
    if (point !== null) md.appendMarkdown(`Decoding: ${escape(pointExplanation(point, this.calibration))}\n\n`);
    if (this.calibration.state === 'running') {
      const progress = this.calibration.progress;
      md.appendMarkdown(`Calibrating this model on this device: ${progress?.phase ?? ''} (${Math.round((progress?.fraction ?? 0) * 100)}%), behind your completions.\n\n`);
    }
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
          `| This run vs full decoding | ${s.estimatedSpeedup.toFixed(2)}× estimated from its draft/verify costs; ${s.speedup === null ? 'not measured at load' : `${s.speedup.toFixed(2)}× vs full-decoding tokens/s measured at load`} |`,
          `| Mode | ${s.mode === 'full' ? 'full decoding' : `${s.mode}, ${pointLabel(s)}`} |`,
          `| Prompt | ${s.promptTokens} tokens, ${s.promptCacheHitTokens} from cache |`,
          `| Device | ${escape(s.device)} |`,
        ].join('\n') + '\n\n',
      );
    }
    md.appendMarkdown('Click for LayerSkip commands (Show Calibration draws every exit layer).');
    return md;
  }
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
