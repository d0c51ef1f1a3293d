/** Opens a model package (ONNX layers + head + tokenizer) as an in-process Engine. */
import { OnnxBackend, type OnnxBackendOptions } from '../model/onnxBackend.js';
import { Engine } from './engine.js';
import { PackageTokenizer } from './tokenizer.js';

export type { ExecutionProvider } from '../model/onnxBackend.js';
export type PackageEngineOptions = OnnxBackendOptions;

export async function loadPackageEngine(dir: string, options: PackageEngineOptions = {}): Promise<Engine> {
  const backend = await OnnxBackend.load(dir, options);
  try {
    const { manifest } = backend;
    const { fim } = manifest.tokenizer;
    const codec = await PackageTokenizer.inPackage(dir, manifest.tokenizer);
    return new Engine({
      backend,
      codec,
      device: backend.executionProvider,
      threads: backend.threads,
      manifest,
      recommendations: { exitLayer: manifest.layerskip.recommendedExitLayer, draftLength: manifest.layerskip.recommendedDraftLength },
      // <EOT> ends the middle; <PRE>, <SUF> or <MID> inside it means the model lost the layout (an under-trained
      // FIM model does this): nothing after such a marker belongs to the suggestion, and its text must not show.
      extraStopTokens: fim === null ? [] : Object.values(fim.ids),
    });
  } catch (error) {
    await backend.dispose();
    throw error;
  }
}
