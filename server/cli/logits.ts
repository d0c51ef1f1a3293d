// `layerskip logits --model <package> --tokens 1,2,3 [--exit-layer E] [--top-k K] [--provider cpu|webgpu|cuda]`
// prints, as JSON, the top-k ids and logits at each position after layer E (final norm + head applied).
import { parseArgs } from 'node:util';
import { logitsAfterLayer } from '../model/backendHelpers.js';
import { EXECUTION_PROVIDERS, OnnxBackend, type ExecutionProvider } from '../model/onnxBackend.js';

const USAGE =
  'usage: layerskip logits --model <package-dir> --tokens 1,2,3 [--exit-layer E] [--top-k K] [--provider cpu|webgpu|cuda]';

function parseTokens(text: string | undefined): number[] {
  if (!text) throw new Error(`--tokens is required\n${USAGE}`);
  return text.split(',').map((part) => {
    const id = Number(part.trim());
    if (part.trim() === '' || !Number.isInteger(id) || id < 0) throw new Error(`--tokens: "${part}" is not a token id`);
    return id;
  });
}

/** One of a position's top-k logits. */
export interface TopLogit {
  id: number;
  logit: number;
}

/** What the command prints (JSON): the top-k logits after each token. */
export interface LogitsOutput {
  exitLayer: number;
  numLayers: number;
  executionProvider: string;
  positions: { token: number; top: TopLogit[] }[];
}

function topK(row: Float32Array, k: number): TopLogit[] {
  return [...row.keys()]
    .sort((a, b) => row[b] - row[a] || a - b)
    .slice(0, k)
    .map((id) => ({ id, logit: row[id] }));
}

export const command = {
  summary: 'print top-k logits after any exit layer (JSON)',
  usage: USAGE,
  async run(args: string[]): Promise<void> {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        tokens: { type: 'string' },
        'exit-layer': { type: 'string' },
        'top-k': { type: 'string', default: '5' },
        provider: { type: 'string', default: 'cpu' },
      },
    });
    if (!values.model) throw new Error(`--model is required\n${USAGE}`);
    const tokens = parseTokens(values.tokens);
    const k = Number(values['top-k']);
    if (!Number.isInteger(k) || k < 1) throw new Error(`--top-k must be a positive integer`);
    const provider = values.provider as ExecutionProvider;
    if (!EXECUTION_PROVIDERS.includes(provider)) throw new Error(`--provider must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
    const backend = await OnnxBackend.load(values.model, { executionProvider: provider });
    try {
      const { numLayers, vocabSize } = backend.config;
      const exitLayer = values['exit-layer'] === undefined ? numLayers : Number(values['exit-layer']);
      if (!Number.isInteger(exitLayer) || exitLayer < 0 || exitLayer > numLayers) {
        throw new Error(`--exit-layer must be an integer in [0, ${numLayers}]`);
      }
      const logits = await logitsAfterLayer(backend, tokens, exitLayer);
      const positions = tokens.map((token, p) => ({ token, top: topK(logits.subarray(p * vocabSize, (p + 1) * vocabSize), k) }));
      const result: LogitsOutput = { exitLayer, numLayers, executionProvider: backend.executionProvider, positions };
      process.stdout.write(JSON.stringify(result) + '\n');
    } finally {
      await backend.dispose();
    }
  },
};
