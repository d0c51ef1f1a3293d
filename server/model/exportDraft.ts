// LayerSkip's early exit as a standalone draft model: a Hugging Face Llama checkpoint holding the first E layers, the
// shared final norm and the LM head of a LayerSkip checkpoint, with the same tokenizer and config.json saying
// num_hidden_layers = E. Serving engines that run draft-model speculative decoding (vLLM's speculative config,
// llama.cpp's -md) then get LayerSkip's draft: its greedy tokens are the early exit's. Tensors keep their dtype and are
// streamed a few rows at a time (a 34B checkpoint's first layers never have to fit in memory).
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openHfCheckpoint, tensorOf } from './checkpoint.js';
import { readRows, writeSafetensors, type TensorInfo, type TensorToWrite } from './safetensors.js';
import { EMBEDDING, FINAL_NORM, LAYER_TENSORS, layerTensorName, LM_HEAD } from './tensorNames.js';

/** Rows read per chunk while copying a tensor. */
const ROWS_PER_CHUNK = 256;
/** Files of a checkpoint folder that are not weights and come along unchanged (tokenizer, generation defaults). */
const COPIED_FILES = /^(tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|tokenizer\.model|generation_config\.json|LICENSE.*|NOTICE.*)$/;

export interface ExportedDraft {
  dir: string;
  exitLayer: number;
  tensors: number;
  copiedFiles: string[];
}

export function exportDraft(checkpointDir: string, exitLayer: number, outDir: string, options: { force?: boolean } = {}): ExportedDraft {
  const checkpoint = openHfCheckpoint(checkpointDir);
  const L = checkpoint.config.numLayers;
  if (!Number.isInteger(exitLayer) || exitLayer < 1 || exitLayer >= L) {
    throw new RangeError(`--exit-layer must be an integer in [1, ${L - 1}] for a ${L}-layer model (got ${exitLayer})`);
  }
  if (existsSync(outDir) && readdirSync(outDir).length > 0) {
    if (!options.force) throw new Error(`${outDir} is not empty (add --force to replace it)`);
    rmSync(outDir, { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });
  const names = [EMBEDDING, ...Array.from({ length: exitLayer }, (_, l) => LAYER_TENSORS.map((t) => layerTensorName(l, t))).flat(), FINAL_NORM];
  if (!checkpoint.config.tieWordEmbeddings) names.push(LM_HEAD);
  const tensors = names.map((name) => copyOf(tensorOf(checkpoint, name)));
  writeSafetensors(join(outDir, 'model.safetensors'), tensors, { format: 'pt', layerskip_draft_of: checkpointDir, layerskip_exit_layer: String(exitLayer) });
  writeFileSync(join(outDir, 'config.json'), JSON.stringify({ ...checkpoint.rawConfig, num_hidden_layers: exitLayer }, null, 2) + '\n');
  const copiedFiles = readdirSync(checkpointDir).filter((file) => COPIED_FILES.test(file));
  for (const file of copiedFiles) copyFileSync(join(checkpointDir, file), join(outDir, file));
  return { dir: outDir, exitLayer, tensors: tensors.length, copiedFiles };
}

/** A tensor to write with the same name, dtype and shape, its rows streamed from the source file. */
function copyOf(info: TensorInfo): TensorToWrite {
  const rows = info.shape.length === 1 ? 1 : info.shape[0];
  return {
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    *chunks() {
      for (let first = 0; first < rows; first += ROWS_PER_CHUNK) yield readRows(info, first, Math.min(ROWS_PER_CHUNK, rows - first));
    },
  };
}
