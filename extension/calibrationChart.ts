// The calibration drawn as SVG (no vscode import, unit-tested): agreement of every exit layer with the full model,
// and the speedup over full decoding of every (E, d) as a heat map: predicted from the agreement and this device's
// step costs, the settings timed by real generation ringed, the chosen one outlined. Colours are the editor theme's
// chart colours (CSS variables), so the chart reads in light, dark and high-contrast themes. Cells carry
// data-exit-layer / data-draft-length for the panel's click-to-apply.
import type { CalibrationResult } from '../server/protocol.js';

export interface BestDraft {
  draftLength: number;
  speedup: number;
  basis: 'measured' | 'predicted';
}

/** Per exit layer, its fastest draft length: timed by generation where one was, else predicted. */
export function bestDraftPerLayer(result: CalibrationResult): Map<number, BestDraft> {
  const best = new Map<number, BestDraft>();
  for (const p of result.predicted) {
    const known = best.get(p.exitLayer);
    if (known === undefined || p.speedup > known.speedup) best.set(p.exitLayer, { draftLength: p.draftLength, speedup: p.speedup, basis: 'predicted' });
  }
  for (const m of result.measured) {
    if (m.mode === 'self-speculative' && m.exitLayer !== null && m.draftLength !== null) best.set(m.exitLayer, { draftLength: m.draftLength, speedup: m.speedup, basis: 'measured' });
  }
  return best;
}

const FONT = 'font-family="var(--vscode-font-family)" font-size="11" fill="var(--vscode-foreground)"';
const WIDTH = 760;
const LEFT = 48;
const RIGHT = 16;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Every k-th label so that labels do not overlap (about 28 px each). */
function labelStep(count: number, width: number): number {
  return Math.max(1, Math.ceil(count / Math.max(1, Math.floor(width / 28))));
}

export function agreementChart(result: CalibrationResult): string {
  const layers = result.layers;
  const height = 220, top = 16, bottom = 36;
  const plotW = WIDTH - LEFT - RIGHT, plotH = height - top - bottom;
  const slot = plotW / Math.max(1, layers.length);
  const y = (fraction: number): number => top + plotH * (1 - fraction);
  const parts: string[] = [];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(tick)}" y2="${y(tick)}" stroke="var(--vscode-editorWidget-border, #8884)" stroke-width="0.5"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${y(tick) + 4}" text-anchor="end" ${FONT}>${Math.round(tick * 100)}%</text>`);
  }
  const step = labelStep(layers.length, plotW);
  layers.forEach((layer, i) => {
    const x = LEFT + i * slot;
    const chosen = layer.exitLayer === result.chosen.exitLayer;
    const fill = chosen ? 'var(--vscode-charts-orange, #d18616)' : 'var(--vscode-charts-blue, #3794ff)';
    const title = `E${layer.exitLayer}: agrees with the full model on ${(100 * layer.agreement).toFixed(1)}% of the sample; a drafted token costs ${layer.draftTokenMs.toFixed(2)} ms (${(layer.draftTokenMs / result.fullTokenMs).toFixed(2)} of a full token)`;
    parts.push(
      `<rect class="bar" x="${(x + slot * 0.15).toFixed(1)}" y="${y(layer.agreement).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(plotH * layer.agreement).toFixed(1)}" fill="${fill}"><title>${escapeXml(title)}</title></rect>`,
    );
    if ((layer.exitLayer - 1) % step === 0 || chosen) parts.push(`<text x="${(x + slot / 2).toFixed(1)}" y="${height - bottom + 14}" text-anchor="middle" ${FONT}>${layer.exitLayer}</text>`);
  });
  parts.push(`<text x="${LEFT + plotW / 2}" y="${height - 6}" text-anchor="middle" ${FONT}>exit layer E (of ${result.numLayers})</text>`);
  return svg(height, 'Agreement of each exit layer with the full model', parts);
}

export function speedupChart(result: CalibrationResult): string {
  const exits = result.layers.map((l) => l.exitLayer);
  const drafts = [...new Set(result.predicted.map((p) => p.draftLength))].sort((a, b) => a - b);
  const height = 60 + drafts.length * 22, top = 12, bottom = 48;
  const plotW = WIDTH - LEFT - RIGHT, plotH = height - top - bottom;
  const cellW = plotW / Math.max(1, exits.length), cellH = plotH / Math.max(1, drafts.length);
  const best = Math.max(1.0001, ...result.predicted.map((p) => p.speedup), ...result.measured.map((m) => m.speedup));
  const parts: string[] = [];
  const xOf = (E: number): number => LEFT + (E - exits[0]) * cellW;
  const yOf = (d: number): number => top + (drafts.length - 1 - drafts.indexOf(d)) * cellH;
  for (const p of result.predicted) {
    const faster = p.speedup >= 1;
    // opacity grows with the distance from 1x: green above (up to the best speedup), red below (down to 0.5x, and
    // paler: slower settings are the background, the faster ones what the eye should find)
    const strength = faster ? (p.speedup - 1) / (best - 1) : 0.55 * Math.min(1, (1 - p.speedup) / 0.5);
    const fill = faster ? 'var(--vscode-charts-green, #388a34)' : 'var(--vscode-charts-red, #e51400)';
    const timed = result.measured.find((m) => m.mode === 'self-speculative' && m.exitLayer === p.exitLayer && m.draftLength === p.draftLength);
    const title = `E${p.exitLayer} d${p.draftLength}: ${p.speedup.toFixed(2)}× full decoding predicted (${p.tokensPerStep.toFixed(2)} tokens a step)` + (timed ? `, ${timed.speedup.toFixed(2)}× timed` : '') + ' — click to use it';
    parts.push(
      `<rect class="cell" data-exit-layer="${p.exitLayer}" data-draft-length="${p.draftLength}" x="${xOf(p.exitLayer).toFixed(1)}" y="${yOf(p.draftLength).toFixed(1)}" width="${(cellW - 1).toFixed(1)}" height="${(cellH - 1).toFixed(1)}" fill="${fill}" fill-opacity="${(0.12 + 0.88 * strength).toFixed(2)}"><title>${escapeXml(title)}</title></rect>`,
    );
  }
  for (const m of result.measured) {
    if (m.mode !== 'self-speculative' || m.exitLayer === null || m.draftLength === null || !drafts.includes(m.draftLength)) continue;
    const cx = xOf(m.exitLayer) + cellW / 2, cy = yOf(m.draftLength) + cellH / 2;
    parts.push(`<circle class="timed" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${Math.min(cellW, cellH) / 3}" fill="none" stroke="var(--vscode-foreground)" stroke-width="1.5"><title>timed: ${m.speedup.toFixed(2)}× full decoding</title></circle>`);
  }
  const chosen = result.chosen;
  if (chosen.mode === 'self-speculative' && chosen.exitLayer !== null && chosen.draftLength !== null && drafts.includes(chosen.draftLength)) {
    parts.push(`<rect class="chosen" x="${xOf(chosen.exitLayer).toFixed(1)}" y="${yOf(chosen.draftLength).toFixed(1)}" width="${(cellW - 1).toFixed(1)}" height="${(cellH - 1).toFixed(1)}" fill="none" stroke="var(--vscode-focusBorder, #007fd4)" stroke-width="3"><title>chosen</title></rect>`);
  }
  for (const d of drafts) parts.push(`<text x="${LEFT - 6}" y="${(yOf(d) + cellH / 2 + 4).toFixed(1)}" text-anchor="end" ${FONT}>d=${d}</text>`);
  const step = labelStep(exits.length, plotW);
  for (const E of exits) if ((E - 1) % step === 0) parts.push(`<text x="${(xOf(E) + cellW / 2).toFixed(1)}" y="${height - bottom + 14}" text-anchor="middle" ${FONT}>${E}</text>`);
  const verdict = chosen.mode === 'full' ? 'nothing beats full decoding: full decoding chosen' : `chosen: E${chosen.exitLayer} d${chosen.draftLength}, ${chosen.speedup.toFixed(2)}× full decoding (outlined)`;
  parts.push(`<text x="${LEFT + plotW / 2}" y="${height - 22}" text-anchor="middle" ${FONT}>exit layer E · green faster than full decoding, red slower · ○ timed by generation</text>`);
  parts.push(`<text x="${LEFT + plotW / 2}" y="${height - 6}" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(verdict)}</text>`);
  return svg(height, 'Speedup over full decoding by exit layer and draft length', parts);
}

function svg(height: number, label: string, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(label)}" viewBox="0 0 ${WIDTH} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">${parts.join('')}</svg>`;
}
