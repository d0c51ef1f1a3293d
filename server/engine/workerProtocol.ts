/** Messages between EngineClient (the thread that serves requests) and the engine worker (worker.ts). */
import type { PackageCalibration } from '../calibration/calibratePackage.js';
import type { CalibrationProgress, CalibrationResult } from '../protocol.js';
import type { EngineInfo, GenerationParams, GenerationResult } from './engine.js';
import type { PackageEngineOptions } from './loadPackage.js';

/** workerData: the model package to open and how. */
export interface WorkerSetup {
  packageDir: string;
  /** onWarning is a function and cannot cross threads: warnings come back as 'warning' messages. */
  options: Omit<PackageEngineOptions, 'onWarning'>;
}

export type WorkerRequest =
  | { type: 'generate'; id: number; prompt: number[] | string; params: Partial<GenerationParams> }
  | { type: 'calibrate'; id: number; request: CalibrationRequest }
  | { type: 'cancel'; id: number }
  | { type: 'tokenize'; id: number; text: string }
  | { type: 'detokenize'; id: number; tokens: number[] }
  | { type: 'dispose'; id: number };

export type WorkerReply =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'load-failed'; message: string }
  | { type: 'warning'; message: string }
  | { type: 'text'; id: number; delta: string; tokens: number[] }
  | { type: 'progress'; id: number; progress: CalibrationProgress }
  | { type: 'done'; id: number; value: GenerationResult | CalibrationResult | number[] | string | null }
  | { type: 'failed'; id: number; message: string };

/** A calibration of the worker's package, run behind its generations (what crosses threads of PackageCalibration). */
export type CalibrationRequest = Pick<PackageCalibration, 'texts' | 'bundled' | 'modelName' | 'sampleTokens'>;
