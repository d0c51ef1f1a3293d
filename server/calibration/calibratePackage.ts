// Calibration of a model package: a backend of its own (its plan changes during the calibration, and completions keep
// theirs), the sample tokenized with the package's tokenizer, and the result labelled with what it holds for.
import { statSync } from 'node:fs';
import { cpus, freemem } from 'node:os';
import { join } from 'node:path';
import { everyExitPlan } from '../backend/layerBackend.js';
import type { TextCodec } from '../engine/tokenizer.js';
import { readManifest } from '../model/manifest.js';
import { OnnxBackend, type OnnxBackendOptions } from '../model/onnxBackend.js';
import type { CalibrationProgress, CalibrationResult } from '../protocol.js';
import type { RunUnit } from './backgroundGate.js';
import { calibrate } from './calibrate.js';
import { codeSample, type SampleText } from './codeSample.js';

export interface PackageCalibration {
  /** The user's code, most relevant first. */
  texts: readonly SampleText[];
  /** Used when the user's code is short (null: none). */
  bundled: SampleText | null;
  codec: TextCodec;
  /** The options the completions' backend runs with: costs are measured as completions will see them. */
  backendOptions: OnnxBackendOptions;
  modelName: string;
  runUnit: RunUnit;
  sampleTokens?: number;
  signal?: AbortSignal;
  onProgress?: (progress: CalibrationProgress) => void;
}

export async function calibratePackage(dir: string, options: PackageCalibration): Promise<CalibrationResult> {
  const manifest = readManifest(dir);
  const sample = codeSample(options.texts, options.bundled, (text) => options.codec.encode(text), manifest.config.bosTokenId, options.sampleTokens);
  if (sample.windows.length === 0) throw new RangeError('there is no code to calibrate on (no files given and no bundled sample)');
  checkMemory(statSync(join(dir, manifest.weights)).size, freemem());
  const backend = await OnnxBackend.load(dir, { ...options.backendOptions, plan: everyExitPlan(manifest.config.numLayers) });
  try {
    return await calibrate({
      backend,
      codec: options.codec,
      windows: sample.windows,
      sampleSource: sample.source,
      identity: { model: options.modelName, device: backend.executionProvider, threads: backend.threads, cpu: cpuName() },
      runUnit: options.runUnit,
      signal: options.signal,
      onProgress: options.onProgress,
    });
  } finally {
    await backend.dispose();
  }
}

/** The calibration's own copy of the model needs about its weights again, plus working memory. */
export const MEMORY_PER_WEIGHT_BYTE = 1.3;

/** Refuses, with the figures, a calibration that would not fit beside what is loaded already. */
export function checkMemory(weightBytes: number, freeBytes: number): void {
  const needed = weightBytes * MEMORY_PER_WEIGHT_BYTE;
  if (needed > freeBytes) {
    const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
    throw new Error(
      `not enough free memory to calibrate: it loads its own copy of the model (~${gib(needed)}) and ${gib(freeBytes)} is free; ` +
        'close other programs and calibrate again (LayerSkip: Calibrate Now)',
    );
  }
}

export function cpuName(): string {
  const all = cpus();
  return `${all[0]?.model.trim() ?? 'unknown CPU'} (${all.length} cores)`;
}
