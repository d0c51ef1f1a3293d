// Calibration of a model package: a backend of its own (its plan changes during the calibration, and completions keep
// theirs), the sample tokenized with the package's tokenizer, and the result labelled with what it holds for.
import { cpus } from 'node:os';
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

export function cpuName(): string {
  const all = cpus();
  return `${all[0]?.model.trim() ?? 'unknown CPU'} (${all.length} cores)`;
}
