/** The architecture facts every part of the project agrees on (manifest.json `config`, see docs/model-package.md). */
export interface RopeScaling {
  ropeType: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface ModelConfig {
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

/** A config.json that cannot be honoured: names the field and what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Json = Record<string, unknown>;

function positiveInt(json: Json, key: string, fallback?: number): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(json[key])}`);
  }
  return value;
}

function positiveNumber(json: Json, key: string, fallback?: number): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ConfigError(`config.json: "${key}" must be a positive number, got ${JSON.stringify(json[key])}`);
  }
  return value;
}

function tokenIds(value: unknown, key: string): number[] {
  if (value === undefined || value === null) return [];
  const ids = Array.isArray(value) ? value : [value];
  for (const id of ids) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ConfigError(`config.json: "${key}" must be a token id or a list of ids, got ${JSON.stringify(value)}`);
    }
  }
  return ids as number[];
}

function parseRopeScaling(value: unknown): RopeScaling | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') throw new ConfigError('config.json: "rope_scaling" must be an object or null');
  const scaling = value as Json;
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default') return null;
  if (type !== 'llama3') {
    throw new ConfigError(`config.json: rope_scaling type ${JSON.stringify(type)} is not supported (only "llama3")`);
  }
  return {
    ropeType: 'llama3',
    factor: positiveNumber(scaling, 'factor'),
    lowFreqFactor: positiveNumber(scaling, 'low_freq_factor'),
    highFreqFactor: positiveNumber(scaling, 'high_freq_factor'),
    originalMaxPositionEmbeddings: positiveInt(scaling, 'original_max_position_embeddings'),
  };
}

/** Options that would change the computation in ways this project does not implement. */
function rejectUnsupported(json: Json): void {
  const architectures = json.architectures;
  if (json.model_type !== 'llama' && !(Array.isArray(architectures) && architectures.includes('LlamaForCausalLM'))) {
    throw new ConfigError(
      `unsupported architecture: model_type ${JSON.stringify(json.model_type)}, architectures ` +
        `${JSON.stringify(architectures)} (only Llama: model_type "llama" / LlamaForCausalLM)`,
    );
  }
  if (json.attention_bias === true) throw new ConfigError('config.json: attention_bias=true is not supported');
  if (json.mlp_bias === true) throw new ConfigError('config.json: mlp_bias=true is not supported');
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`config.json: hidden_act ${JSON.stringify(act)} is not supported (only "silu")`);
}

/** Hugging Face config.json (LlamaForCausalLM) -> ModelConfig, with an error naming any field it cannot honour. */
export function parseHfConfig(json: unknown): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError('config.json must contain a JSON object');
  }
  const hf = json as Json;
  rejectUnsupported(hf);
  const hiddenSize = positiveInt(hf, 'hidden_size');
  const numHeads = positiveInt(hf, 'num_attention_heads');
  const numKvHeads = positiveInt(hf, 'num_key_value_heads', numHeads);
  const headDim = positiveInt(hf, 'head_dim', hiddenSize / numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(`config.json: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  if (headDim % 2 !== 0) throw new ConfigError(`config.json: head_dim ${headDim} must be even (rotary halves)`);
  const eos = tokenIds(hf.eos_token_id, 'eos_token_id');
  const bos = tokenIds(hf.bos_token_id, 'bos_token_id');
  return {
    numLayers: positiveInt(hf, 'num_hidden_layers'),
    hiddenSize,
    intermediateSize: positiveInt(hf, 'intermediate_size'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: positiveInt(hf, 'vocab_size'),
    rmsNormEps: positiveNumber(hf, 'rms_norm_eps', 1e-6),
    ropeTheta: positiveNumber(hf, 'rope_theta', 10000),
    ropeScaling: parseRopeScaling(hf.rope_scaling),
    maxPositionEmbeddings: positiveInt(hf, 'max_position_embeddings', 2048),
    tieWordEmbeddings: hf.tie_word_embeddings === true,
    bosTokenId: bos.length > 0 ? bos[0] : null,
    eosTokenIds: eos,
  };
}
