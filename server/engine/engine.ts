/**
 * The engine as a library: a model (any LayerBackend) + its tokenizer, one generation at a time, with the prompt
 * cache carried from one request to the next. The CLI, the benchmark and the tests use it in-process; the LSP server
 * uses the same API through a worker (engineClient.ts).
 */
import type { ModelConfig } from '../model/config.js';
import type { LayerBackend } from '../backend/layerBackend.js';
import { DraftPolicies } from './draftPolicy.js';
import { generate, type GenerationOptions, type GenerationResult } from './generation.js';
import { defaultRecommendations, layersUsed, resolveParams, type GenerationParams, type Recommendations } from './params.js';
import { newKvCache } from '../backend/kvCache.js';
import { PromptCache } from './promptCache.js';
import type { TextCodec } from './tokenizer.js';
import { VocabularyText } from './tokenHealing.js';

export type { DecodingMode, GenerationParams, Recommendations } from './params.js';
export type { GenerationStats } from './stats.js';
export type { GenerationOptions, GenerationResult, StopReason } from './generation.js';

export interface EngineInfo {
  config: ModelConfig;
  /** manifest.json of the model package, when the model came from one. */
  manifest: unknown;
  /** Where the layers run, e.g. "cpu", "cuda", "webgpu", "reference". */
  device: string;
  /** Threads the backend's operators run on (null: not applicable, e.g. the reference backend). */
  threads: number | null;
  recommendations: Recommendations;
}

export interface EngineSetup {
  backend: LayerBackend;
  codec: TextCodec;
  device: string;
  threads?: number;
  manifest?: unknown;
  recommendations?: Recommendations;
  /** Ids that end a generation besides the config's EOS ids (e.g. a FIM end-of-turn token). */
  extraStopTokens?: number[];
}

export class Engine {
  private readonly promptCache: PromptCache;
  private readonly stopTokens: number[];
  private readonly recommendations: Recommendations;
  private readonly vocabulary: VocabularyText;
  /** The adaptive draft policy learns what steps cost on this model; it carries that from one generation to the next. */
  private readonly draftPolicies = new DraftPolicies();
  /** Generations share the KV cache, so they run one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly setup: EngineSetup) {
    const config = setup.backend.config;
    this.promptCache = new PromptCache(newKvCache(setup.backend));
    this.stopTokens = [...config.eosTokenIds, ...(setup.extraStopTokens ?? [])];
    this.recommendations = setup.recommendations ?? defaultRecommendations(config);
    this.vocabulary = new VocabularyText(setup.codec, config.vocabSize);
  }

  /** A string prompt is tokenized with BOS in front (when the model has one); token ids are used as given. */
  generate(
    prompt: readonly number[] | string,
    params: Partial<GenerationParams> = {},
    options: GenerationOptions = {},
  ): Promise<GenerationResult> {
    const run = this.queue.then(() => this.generateNow(prompt, params, options));
    this.queue = run.catch(() => undefined); // a failed request must not block the next one
    return run;
  }

  tokenize(text: string): number[] {
    return this.setup.codec.encode(text);
  }

  detokenize(tokens: readonly number[]): string {
    return this.setup.codec.decode(tokens);
  }

  info(): EngineInfo {
    const { backend, manifest, device, threads } = this.setup;
    return { config: backend.config, manifest: manifest ?? null, device, threads: threads ?? null, recommendations: this.recommendations };
  }

  async dispose(): Promise<void> {
    await this.queue;
    await this.setup.backend.dispose();
  }

  private async generateNow(
    prompt: readonly number[] | string,
    partial: Partial<GenerationParams>,
    options: GenerationOptions,
  ): Promise<GenerationResult> {
    const { backend, codec, device } = this.setup;
    const params = resolveParams(partial, backend.config, this.recommendations);
    const tokens = typeof prompt === 'string' ? this.promptTokens(prompt) : [...prompt];
    checkTokens(tokens, backend.config);
    // Positions past the model's context are never produced: the room left caps the new tokens.
    params.maxNewTokens = Math.min(params.maxNewTokens, backend.config.maxPositionEmbeddings - tokens.length);
    const cachedTokens = this.promptCache.reuse(tokens, layersUsed(params, backend.config));
    try {
      const policy = this.draftPolicies.for(params);
      const job = { backend, cache: this.promptCache.cache, tokens, cachedTokens, params, codec, stopTokens: this.stopTokens, vocabulary: this.vocabulary, device, policy };
      const result = await generate(job, options);
      this.promptCache.remember(tokens); // generate() extended it with every committed token
      return result;
    } catch (error) {
      this.promptCache.clear();
      throw error;
    }
  }

  private promptTokens(text: string): number[] {
    const bos = this.setup.backend.config.bosTokenId;
    return [...(bos === null ? [] : [bos]), ...this.setup.codec.encode(text)];
  }
}

function checkTokens(tokens: readonly number[], { vocabSize, maxPositionEmbeddings }: ModelConfig): void {
  if (tokens.length === 0) throw new RangeError('prompt is empty: at least one token is needed to predict the next');
  if (tokens.length >= maxPositionEmbeddings) {
    throw new RangeError(`prompt has ${tokens.length} tokens: the model's context holds ${maxPositionEmbeddings} positions`);
  }
  const bad = tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
  if (bad !== undefined) throw new RangeError(`prompt token ${bad} is not an id in [0, ${vocabSize})`);
}
