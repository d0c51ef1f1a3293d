// A Hugging Face Llama checkpoint folder: config.json + safetensors (single or sharded) + tokenizer files.
// Opening it checks every tensor the model needs (by name and shape) before anything is converted.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseHfConfig, type ModelConfig } from './config.js';
import { openCheckpoint, SafetensorsError, type TensorInfo } from './safetensors.js';
import { EMBEDDING, FINAL_NORM, LAYER_TENSORS, layerTensorName, layerTensorShape, LM_HEAD } from './tensorNames.js';

export interface HfCheckpoint {
  dir: string;
  config: ModelConfig;
  /** The raw config.json (the converter keeps a few fields for the manifest). */
  rawConfig: Record<string, unknown>;
  tensors: Map<string, TensorInfo>;
}

export function readConfigJson(dir: string): Record<string, unknown> {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new ConfigError(`${dir}: no config.json (is this a Hugging Face checkpoint folder?)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** Every tensor name the model needs with its expected shape. */
export function expectedTensors(config: ModelConfig): Map<string, number[]> {
  const expected = new Map<string, number[]>();
  expected.set(EMBEDDING, [config.vocabSize, config.hiddenSize]);
  for (let l = 0; l < config.numLayers; l++) {
    for (const t of LAYER_TENSORS) expected.set(layerTensorName(l, t), layerTensorShape(config, t));
  }
  expected.set(FINAL_NORM, [config.hiddenSize]);
  if (!config.tieWordEmbeddings) expected.set(LM_HEAD, [config.vocabSize, config.hiddenSize]);
  return expected;
}

export function openHfCheckpoint(dir: string): HfCheckpoint {
  const rawConfig = readConfigJson(dir);
  const config = parseHfConfig(rawConfig);
  const tensors = openCheckpoint(dir);
  for (const [name, shape] of expectedTensors(config)) {
    const info = tensors.get(name);
    if (!info) throw new SafetensorsError(`${dir}: missing tensor "${name}" (expected shape [${shape.join(', ')}])`);
    if (info.shape.join(',') !== shape.join(',')) {
      throw new SafetensorsError(
        `${dir}: tensor "${name}" has shape [${info.shape.join(', ')}], config.json implies [${shape.join(', ')}]`,
      );
    }
  }
  return { dir, config, rawConfig, tensors };
}

export function tensorOf(checkpoint: HfCheckpoint, name: string): TensorInfo {
  const info = checkpoint.tensors.get(name);
  if (!info) throw new SafetensorsError(`${checkpoint.dir}: missing tensor "${name}"`);
  return info;
}
