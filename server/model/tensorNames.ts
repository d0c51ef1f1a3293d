// Hugging Face LlamaForCausalLM tensor names and shapes ([out, in] for linear layers), in one place for the
// converter, the reference forward and the test-checkpoint generator.
import type { ModelConfig } from './config.js';

export const EMBEDDING = 'model.embed_tokens.weight';
export const FINAL_NORM = 'model.norm.weight';
export const LM_HEAD = 'lm_head.weight';

export type LayerTensor =
  | 'input_layernorm'
  | 'q_proj'
  | 'k_proj'
  | 'v_proj'
  | 'o_proj'
  | 'post_attention_layernorm'
  | 'gate_proj'
  | 'up_proj'
  | 'down_proj';

export const LAYER_TENSORS: readonly LayerTensor[] = [
  'input_layernorm',
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'post_attention_layernorm',
  'gate_proj',
  'up_proj',
  'down_proj',
];

export function layerTensorName(layer: number, tensor: LayerTensor): string {
  const prefix = `model.layers.${layer}`;
  switch (tensor) {
    case 'input_layernorm':
    case 'post_attention_layernorm':
      return `${prefix}.${tensor}.weight`;
    case 'q_proj':
    case 'k_proj':
    case 'v_proj':
    case 'o_proj':
      return `${prefix}.self_attn.${tensor}.weight`;
    default:
      return `${prefix}.mlp.${tensor}.weight`;
  }
}

/** Expected shape of a layer tensor: [out, in] for linears, [hidden] for norms. */
export function layerTensorShape(config: ModelConfig, tensor: LayerTensor): number[] {
  const { hiddenSize: h, intermediateSize: i, numHeads, numKvHeads, headDim } = config;
  switch (tensor) {
    case 'input_layernorm':
    case 'post_attention_layernorm':
      return [h];
    case 'q_proj':
      return [numHeads * headDim, h];
    case 'k_proj':
    case 'v_proj':
      return [numKvHeads * headDim, h];
    case 'o_proj':
      return [h, numHeads * headDim];
    case 'gate_proj':
    case 'up_proj':
      return [i, h];
    case 'down_proj':
      return [h, i];
  }
}
