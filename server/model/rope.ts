// Rotary position embedding tables, shared by the reference forward and the ONNX backend so both rotate alike.
// HF convention (rotate_half): a head vector is two halves [x1, x2] rotated as
//   out1 = x1*cos - x2*sin,  out2 = x2*cos + x1*sin,  with one frequency per pair (i, i + headDim/2).
import type { ModelConfig } from './config.js';

/** Inverse frequencies [headDim/2], including the llama3 rescaling of long wavelengths (as in HF transformers). */
export function inverseFrequencies(config: ModelConfig): Float64Array {
  const half = config.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(config.ropeTheta, (2 * i) / config.headDim);
  const scaling = config.ropeScaling;
  if (scaling === null) return inv;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldContext } = scaling;
  const lowFreqWavelen = oldContext / lowFreqFactor;
  const highFreqWavelen = oldContext / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowFreqWavelen) {
      inv[i] = inv[i] / factor; // long wavelengths: fully interpolated
    } else if (wavelen >= highFreqWavelen) {
      // in between: blend interpolated and original frequencies
      const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** cos and sin tables for positions [start, start + count): each [count, headDim/2]. */
export function rotaryTables(
  inverse: Float64Array,
  start: number,
  count: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = inverse.length;
  const cos = new Float32Array(count * half);
  const sin = new Float32Array(count * half);
  for (let s = 0; s < count; s++) {
    for (let i = 0; i < half; i++) {
      // HF computes the angle in float32; rounding it first keeps long positions close to HF's tables
      const angle = Math.fround(Math.fround(inverse[i]) * (start + s));
      cos[s * half + i] = Math.cos(angle);
      sin[s * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
