// Opens a model package for completion: ONNX layers + tokenizer into an engine, and the summary the client shows.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Engine } from '../engine/engine.js';
import { PackageTokenizer } from '../engine/tokenizer.js';
import { OnnxBackend, type ExecutionProvider } from '../model/onnxBackend.js';
import type { DevicePreference } from '../protocol.js';
import type { OpenedModel } from './modelHost.js';

/** 'auto' tries CUDA where an NVIDIA device node exists (OnnxBackend falls back to CPU if CUDA cannot load). */
function executionProvider(device: DevicePreference): ExecutionProvider {
  if (device !== 'auto') return device;
  return existsSync('/dev/nvidia0') ? 'cuda' : 'cpu';
}

export async function openModelPackage(dir: string, device: DevicePreference, log: (message: string) => void = () => undefined): Promise<OpenedModel> {
  if (!existsSync(dir)) throw new Error(`the folder ${dir} does not exist`);
  const backend = await OnnxBackend.load(dir, { executionProvider: executionProvider(device), onWarning: log });
  const { manifest } = backend;
  const tokenizer = manifest.tokenizer;
  const codec = await PackageTokenizer.load(join(dir, tokenizer.file), tokenizer.config === null ? null : join(dir, tokenizer.config));
  const recommendations = { exitLayer: manifest.layerskip.recommendedExitLayer, draftLength: manifest.layerskip.recommendedDraftLength };
  const fim = tokenizer.fim;
  const engine = new Engine({
    backend,
    codec,
    device: backend.executionProvider,
    manifest,
    recommendations,
    extraStopTokens: fim === null ? [] : [fim.ids.eot],
  });
  return {
    engine: {
      generate: (prompt, params, options) => engine.generate(prompt, params, options),
      tokenize: (text) => engine.tokenize(text),
      dispose: () => engine.dispose(),
    },
    summary: {
      path: dir,
      name: manifest.source.checkpoint || basename(dir),
      numLayers: manifest.config.numLayers,
      device: backend.executionProvider,
      hasFim: fim !== null,
      recommendedExitLayer: recommendations.exitLayer,
      recommendedDraftLength: recommendations.draftLength,
    },
    fim: fim === null ? null : { prefix: fim.prefix, suffix: fim.suffix, middle: fim.middle, endOfText: fim.eot },
  };
}
