// Opens "the model" when a remote server generates: the server is asked which models it serves (a wrong
// layerskip.remoteModel is refused here, with the names it does serve), and the prompt side comes from a model
// package or a Hugging Face folder's tokenizer (promptSide.ts; no weights are loaded).
import type { ModelSummary } from '../protocol.js';
import { fimMarkers, type OpenedModel } from '../completion/modelHost.js';
import { listModels, parseRemoteUrl, RemoteError, type Timeouts } from './openAiApi.js';
import { loadPromptSide } from './promptSide.js';
import { RemoteEngine } from './remoteEngine.js';

export interface RemoteSource {
  url: string;
  model: string | null;
  apiKey: string | null;
  /** The package whose tokenizer and FIM template build the prompts. */
  promptPackage: string;
  timeouts?: Timeouts;
}

export async function openRemoteModel(source: RemoteSource, log: (message: string) => void): Promise<OpenedModel> {
  const endpoint = { url: parseRemoteUrl(source.url), apiKey: source.apiKey };
  const { codec, fim, bosTokenId, numLayers } = await loadPromptSide(source.promptPackage);
  const served = await listModels(endpoint, AbortSignal.timeout(60_000), source.timeouts);
  const model = chooseModel(source.model, served, endpoint.url.href);
  log(`Remote completions from ${endpoint.url.href} (model ${model ?? 'the server default'}), prompts with the tokenizer of ${source.promptPackage}${endpoint.apiKey === null ? '' : ', with an API key'}`);
  const summary: ModelSummary = {
    path: endpoint.url.href,
    name: model ?? endpoint.url.host,
    numLayers,
    device: 'remote',
    hasFim: fim !== null,
    // the server decodes as it is configured: no exit layer or draft length is the extension's to choose
    recommendedExitLayer: numLayers,
    recommendedDraftLength: 1,
  };
  return {
    engine: new RemoteEngine({
      endpoint,
      model,
      codec,
      bosTokenId,
      extraStopStrings: fim === null ? [] : [fim.prefix, fim.suffix, fim.middle, fim.eot],
      ...(source.timeouts === undefined ? {} : { timeouts: source.timeouts }),
    }),
    summary,
    bosTokenId,
    fim: fimMarkers(fim),
    calibration: null,
    onDied: () => () => undefined, // nothing local to die: each request's failure is its own
  };
}

/** The model to ask for: the configured one if the server serves it, else the server's only (or first) model. */
function chooseModel(wanted: string | null, served: string[] | null, url: string): string | null {
  if (served === null) return wanted; // no /models: the server decides what `model` means
  if (wanted !== null) {
    if (served.includes(wanted)) return wanted;
    throw new RemoteError(`the server at ${url} does not serve the model "${wanted}" (layerskip.remoteModel); it serves: ${served.join(', ') || 'nothing'}`);
  }
  if (served.length === 0) throw new RemoteError(`the server at ${url} lists no models`);
  return served[0] ?? null;
}
