// Opens a model package for completion and describes it for the client. The engine runs in a worker thread, so
// the LSP thread stays free to read $/cancelRequest and new keystrokes while tokens are being generated.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { cpuName } from '../calibration/calibratePackage.js';
import { packageFingerprint } from '../calibration/calibrationStore.js';
import { EngineClient } from '../engine/engineClient.js';
import type { ExecutionProvider } from '../engine/loadPackage.js';
import type { Manifest } from '../model/manifest.js';
import type { DevicePreference } from '../protocol.js';
import { fimMarkers, type OpenedModel } from './modelHost.js';

/** 'auto' tries CUDA where an NVIDIA device node exists (the backend falls back to CPU if CUDA cannot load). */
function executionProvider(device: DevicePreference): ExecutionProvider {
  if (device !== 'auto') return device;
  return existsSync('/dev/nvidia0') ? 'cuda' : 'cpu';
}

export async function openModelPackage(dir: string, device: DevicePreference, log: (message: string) => void): Promise<OpenedModel> {
  if (!existsSync(dir)) throw new Error(`the folder ${dir} does not exist`);
  const engine = await EngineClient.start(dir, { executionProvider: executionProvider(device), onWarning: log });
  const info = engine.info();
  const manifest = info.manifest as Manifest;
  const fim = manifest.tokenizer.fim;
  const name = manifest.source.checkpoint || basename(dir);
  return {
    engine: {
      generate: (prompt, params, options) => engine.generate(prompt, params, options),
      tokenize: (text) => engine.tokenize(text),
      dispose: () => engine.dispose(),
    },
    summary: {
      path: dir,
      name,
      numLayers: info.config.numLayers,
      device: info.device,
      hasFim: fim !== null,
      recommendedExitLayer: info.recommendations.exitLayer,
      recommendedDraftLength: info.recommendations.draftLength,
    },
    bosTokenId: info.config.bosTokenId,
    fim: fimMarkers(fim),
    onDied: (listener) => engine.onDied((death) => listener(death.message)),
    calibration: {
      calibrate: (request, options) => engine.calibrate(request, options),
      key: { model: packageFingerprint(dir), device: info.device, threads: info.threads ?? 0, cpu: cpuName() },
      modelName: name,
    },
  };
}
