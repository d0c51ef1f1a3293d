// The HTML of the calibration panel (no vscode import, unit-tested): the calibration's summary, its two charts
// (calibrationChart.ts), the settings timed by generation with a button to use each, and a script that posts the
// user's choice to the extension. Strict CSP: only this page's nonce'd script and inline styles run.
import type { CalibrationStatus, TimedSetting } from '../server/protocol.js';
import { agreementChart, speedupChart } from './calibrationChart.js';
import { pointLabel } from './statusText.js';

/** Messages from the page to the extension. */
export type CalibrationPageMessage =
  | { type: 'apply'; exitLayer: number; draftLength: number }
  | { type: 'full' }
  | { type: 'auto' }
  | { type: 'calibrate' }
  | { type: 'cancel' };

function escapeHtml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function describe(setting: TimedSetting): string {
  return setting.mode === 'full' ? 'full decoding' : `self-speculative ${pointLabel(setting)}`;
}

export function calibrationPage(status: CalibrationStatus, nonce: string): string {
  const result = status.result;
  const body: string[] = ['<h1>LayerSkip calibration</h1>'];
  if (status.state === 'running') {
    const fraction = status.progress?.fraction ?? 0;
    body.push(
      `<p class="running">Calibrating: ${escapeHtml(status.progress?.phase ?? '')} <progress max="1" value="${fraction.toFixed(3)}"></progress> ${Math.round(fraction * 100)}% (behind your completions) <button data-action="cancel">Cancel</button></p>`,
    );
  } else if (status.state === 'failed') {
    body.push(`<p class="error">The calibration failed: ${escapeHtml(status.message)}</p>`);
  }
  if (result === null) {
    body.push('<p>This model has not been calibrated on this device yet.</p>');
    if (status.state !== 'running') body.push('<p><button data-action="calibrate">Calibrate now</button></p>');
    return page(body, nonce);
  }
  const chosen = result.chosen;
  body.push(
    `<p class="summary">${escapeHtml(result.model)} on ${escapeHtml(result.device)}, ${result.threads} threads, ${escapeHtml(result.cpu)}. ` +
      `Fastest measured setting: <strong>${escapeHtml(describe(chosen))}</strong>${chosen.mode === 'full' ? '' : `, <strong>${chosen.speedup.toFixed(2)}×</strong> full decoding`}. ` +
      `Full decoding takes ${result.fullTokenMs.toFixed(1)} ms a token.</p>`,
    `<p class="meta">Measured on ${result.sample.tokens} tokens (${escapeHtml(result.sample.source)}) on ${escapeHtml(new Date(result.createdAt).toLocaleString())}; ` +
      `the calibration took ${(result.durationMs / 1000).toFixed(1)} s and ${result.cpuSeconds.toFixed(1)} s of CPU.</p>`,
    '<p><button data-action="auto">Use the calibrated setting</button> <button data-action="full">Use full decoding</button> ' +
      `${status.state === 'running' ? '' : '<button data-action="calibrate">Calibrate again</button>'}</p>`,
    '<h2>How often each exit layer agrees with the full model</h2>',
    '<p class="hint">Teacher-forced on your code: the share of positions where the draft after layer E picks the full model\'s token (a greedy draft there is accepted).</p>',
    agreementChart(result),
    '<h2>Speedup over full decoding</h2>',
    '<p class="hint">Predicted for every exit layer E and draft length d from the agreement and the costs measured on this device; the best few were timed by real generation. Click a cell to use that setting.</p>',
    speedupChart(result),
    '<h2>Timed by generation</h2>',
    '<table><thead><tr><th>setting</th><th>ms a token</th><th>speedup</th><th></th></tr></thead><tbody>',
    ...result.measured.map((m) => {
      const action = m.mode === 'full' ? '<button data-action="full">Use</button>' : `<button data-exit-layer="${m.exitLayer}" data-draft-length="${m.draftLength}">Use</button>`;
      const mark = m.mode === chosen.mode && m.exitLayer === chosen.exitLayer && m.draftLength === chosen.draftLength ? ' (chosen)' : '';
      return `<tr><td>${escapeHtml(describe(m))}${mark}</td><td>${m.msPerToken.toFixed(2)}</td><td>${m.speedup.toFixed(2)}×</td><td>${action}</td></tr>`;
    }),
    '</tbody></table>',
  );
  return page(body, nonce);
}

function page(body: string[], nonce: string): string {
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0"><title>LayerSkip calibration</title>
<style>
body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); padding: 0 20px 20px; max-width: 820px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.hint, .meta { color: var(--vscode-descriptionForeground); }
.error { color: var(--vscode-errorForeground); }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; cursor: pointer; }
button:hover { background: var(--vscode-button-hoverBackground); }
table { border-collapse: collapse; } td, th { padding: 3px 12px 3px 0; text-align: left; }
rect.cell { cursor: pointer; } rect.cell:hover { stroke: var(--vscode-foreground); stroke-width: 1; }
</style></head>
<body>${body.join('\n')}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener('click', (event) => {
  const target = event.target.closest('[data-action], [data-exit-layer]');
  if (!target) return;
  if (target.dataset.action) vscode.postMessage({ type: target.dataset.action });
  else vscode.postMessage({ type: 'apply', exitLayer: Number(target.dataset.exitLayer), draftLength: Number(target.dataset.draftLength) });
});
</script></body></html>`;
}
