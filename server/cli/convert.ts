// `layerskip convert <hf-checkpoint-dir> <out-dir> [--dtype fp32|fp16|int8|int4] [--force] [--exit-layer E]
//   [--draft d] [--float-activations] [--embedding-dtype D] [--no-fim-prompts] [--kv-cache float32|float16]
//   [--draft-vocabulary K]`
import { parseArgs } from 'node:util';
import { KV_CACHE_DTYPES, type KvCacheDtype } from '../backend/kvCache.js';
import { convertCheckpoint } from '../model/convert.js';
import { DEFAULT_DRAFT_VOCABULARY } from '../model/draftVocabulary.js';
import { PACKAGE_DTYPES, type PackageDtype } from '../model/weightEncoding.js';

const USAGE =
  'usage: layerskip convert <hf-checkpoint-dir> <out-dir> [--dtype fp32|fp16|int8|int4] [--force] [--exit-layer E]\n' +
  '         [--draft d]  (recommended E and d for the manifest; default: the checkpoint\'s layerskip.json)\n' +
  '         [--float-activations]  (int8/int4: float instead of int8 activations; exact but slow)\n' +
  '         [--embedding-dtype fp32|fp16|int8|int4]  (token embedding and LM head; default: --dtype)\n' +
  '         [--no-fim-prompts]  (prefix-only prompts although the tokenizer has FIM tokens, which then end generation)\n' +
  '         [--kv-cache float32|float16]  (how keys and values are cached; default: float32 for fp32, else float16)\n' +
  `         [--draft-vocabulary K]  (rows of the draft head: the K most frequent tokens; default ${DEFAULT_DRAFT_VOCABULARY})`;

export const command = {
  summary: 'convert a Hugging Face Llama checkpoint into a LayerSkip model package',
  usage: USAGE,
  async run(args: string[]): Promise<void> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        dtype: { type: 'string', default: 'fp16' },
        force: { type: 'boolean', default: false },
        'exit-layer': { type: 'string' },
        draft: { type: 'string' },
        'float-activations': { type: 'boolean', default: false },
        'embedding-dtype': { type: 'string' },
        'no-fim-prompts': { type: 'boolean', default: false },
        'kv-cache': { type: 'string' },
        'draft-vocabulary': { type: 'string' },
      },
    });
    if (positionals.length !== 2) throw new Error(USAGE);
    const parseDtype = (value: string, option: string): PackageDtype => {
      if (!PACKAGE_DTYPES.includes(value as PackageDtype)) throw new Error(`${option} must be one of ${PACKAGE_DTYPES.join(', ')}\n${USAGE}`);
      return value as PackageDtype;
    };
    const dtype = parseDtype(values.dtype, '--dtype');
    const embeddingDtype = values['embedding-dtype'] === undefined ? undefined : parseDtype(values['embedding-dtype'], '--embedding-dtype');
    const kvCache = values['kv-cache'];
    if (kvCache !== undefined && !KV_CACHE_DTYPES.includes(kvCache as KvCacheDtype)) {
      throw new Error(`--kv-cache must be one of ${KV_CACHE_DTYPES.join(', ')}\n${USAGE}`);
    }
    const draftVocabulary = values['draft-vocabulary'] === undefined ? undefined : Number(values['draft-vocabulary']);
    if (draftVocabulary !== undefined && (!Number.isInteger(draftVocabulary) || draftVocabulary < 1)) {
      throw new Error(`--draft-vocabulary must be a positive integer\n${USAGE}`);
    }
    const exitLayer = values['exit-layer'] === undefined ? undefined : Number(values['exit-layer']);
    const draftLength = values.draft === undefined ? undefined : Number(values.draft);
    const [source, destination] = positionals;
    const started = Date.now();
    // Ctrl-C stops between layers and removes the partial package instead of leaving gigabytes behind
    const interrupt = new AbortController();
    const onSignal = (): void => interrupt.abort(new Error('interrupted; nothing was written'));
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    const manifest = await convertCheckpoint(source, destination, {
      dtype,
      embeddingDtype,
      force: values.force,
      recommendedExitLayer: exitLayer,
      recommendedDraftLength: draftLength,
      quantizedActivations: !values['float-activations'],
      fimPrompts: !values['no-fim-prompts'],
      kvCache: kvCache as KvCacheDtype | undefined,
      draftVocabulary,
      onProgress: (message) => process.stderr.write(`convert: ${message}\n`),
      signal: interrupt.signal,
    }).finally(() => process.off('SIGINT', onSignal).off('SIGTERM', onSignal));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(`convert: wrote ${destination} (${manifest.config.numLayers} layers, ${dtype}) in ${seconds} s\n`);
  },
};
