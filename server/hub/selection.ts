// Which files of a checkpoint repo to fetch: what the converter reads (config, safetensors, tokenizer) and the
// small text files that travel with it (license, README). LayerSkip repos also ship the original Meta
// consolidated.*.pth weights and sometimes pytorch_model*.bin copies: fetching those would double the download.
import type { RepoFile } from './api.js';

const ALWAYS = [/\.json$/i, /\.safetensors$/i, /(^|\/)tokenizer\.model$/i, /(^|\/)(LICENSE|README|USE_POLICY)[^/]*$/i];
const WEIGHTS_FALLBACK = [/\.bin$/i];

export function selectCheckpointFiles(files: RepoFile[]): RepoFile[] {
  const topLevel = files.filter((file) => !file.path.startsWith('original/'));
  const wanted = topLevel.filter((file) => ALWAYS.some((pattern) => pattern.test(file.path)));
  const hasSafetensors = wanted.some((file) => file.path.endsWith('.safetensors'));
  if (hasSafetensors) return wanted;
  // No safetensors: keep PyTorch .bin weights so that the converter can say precisely what it cannot read.
  return [...wanted, ...topLevel.filter((file) => WEIGHTS_FALLBACK.some((pattern) => pattern.test(file.path)))];
}
