// The LayerSkip checkpoints Meta published (https://huggingface.co/collections/facebook/layerskip-666b25c50c8ae90e1965727a).
// All are gated: the user must accept the FAIR noncommercial research license on the model page, and requests are
// reviewed by hand. Sizes are the bf16/fp16 safetensors the converter reads. E (exit layer) and d (draft length)
// are starting points: from the LayerSkip repository's examples where it gives them, else a quarter of the layers.
import type { KnownCheckpoint } from '../protocol.js';

export const LAYERSKIP_LICENSE_NOTE =
  'FAIR noncommercial research license: accept it on the model page; access requests are reviewed by Meta.';

const GB = 1e9;

export const KNOWN_CHECKPOINTS: readonly KnownCheckpoint[] = [
  { repoId: 'facebook/layerskip-llama3.2-1B', parameters: '1.2B', layers: 16, downloadBytes: 2.5 * GB, recommendedExitLayer: 4, recommendedDraftLength: 6, recommendationBasis: 'Hugging Face transformers example (assistant_early_exit=4)', codeModel: false },
  { repoId: 'facebook/layerskip-codellama-7B', parameters: '6.7B', layers: 32, downloadBytes: 13.5 * GB, recommendedExitLayer: 8, recommendedDraftLength: 6, recommendationBasis: 'a quarter of the layers', codeModel: true },
  { repoId: 'facebook/layerskip-llama2-7B', parameters: '6.7B', layers: 32, downloadBytes: 13.5 * GB, recommendedExitLayer: 8, recommendedDraftLength: 6, recommendationBasis: 'LayerSkip repository example (--exit_layer 8 --num_speculations 6)', codeModel: false },
  { repoId: 'facebook/layerskip-llama3-8B', parameters: '8.0B', layers: 32, downloadBytes: 16.1 * GB, recommendedExitLayer: 8, recommendedDraftLength: 6, recommendationBasis: 'a quarter of the layers', codeModel: false },
  { repoId: 'facebook/layerskip-llama2-13B', parameters: '13B', layers: 40, downloadBytes: 26 * GB, recommendedExitLayer: 6, recommendedDraftLength: 4, recommendationBasis: 'LayerSkip repository example (--exit_layer 6 --num_speculations 4)', codeModel: false },
  { repoId: 'facebook/layerskip-codellama-34B', parameters: '34B', layers: 48, downloadBytes: 67.5 * GB, recommendedExitLayer: 12, recommendedDraftLength: 6, recommendationBasis: 'a quarter of the layers', codeModel: true },
  { repoId: 'facebook/layerskip-llama2-70B', parameters: '69B', layers: 80, downloadBytes: 138 * GB, recommendedExitLayer: 20, recommendedDraftLength: 6, recommendationBasis: 'a quarter of the layers', codeModel: false },
];

export function knownCheckpoint(repoId: string): KnownCheckpoint | undefined {
  const wanted = repoId.toLowerCase();
  return KNOWN_CHECKPOINTS.find((checkpoint) => checkpoint.repoId.toLowerCase() === wanted);
}
