// LayerBackend over the plain-TypeScript reference forward: the oracle the engine and the ONNX package are tested
// against. Same contract as the ONNX backend (positions implicit in the cache length, keys appended per layer).
import type { ForwardResult, HeadRequest, LayerBackend, LayerPlan } from '../backend/layerBackend.js';
import type { KvCache, KvCacheDtype, KvRows } from '../backend/kvCache.js';
import { argmaxRows, checkLayerRange, checkRows } from './backendHelpers.js';
import type { ModelConfig } from './config.js';
import { f32ToHalves, halvesToF32 } from './float16.js';
import { decoderLayer, embed, head, loadReferenceModel, type ReferenceModel } from './referenceForward.js';
import { inverseFrequencies, rotaryTables } from './rope.js';

// tests import the oracle run from here
export { logitsAfterLayer } from './backendHelpers.js';

export class ReferenceBackend implements LayerBackend {
  readonly config: ModelConfig;
  private readonly inverse: Float64Array;
  private plan: LayerPlan;

  /**
   * 'float16': keys and values are rounded to half precision when cached, as a float16-cache package stores them.
   * draftIds: the draft head's vocabulary (as a package's manifest.draftHead.ids); null: the draft head is the full one.
   */
  constructor(
    private readonly model: ReferenceModel,
    readonly kvCacheDtype: KvCacheDtype = 'float32',
    readonly draftIds: Int32Array | null = null,
  ) {
    this.config = model.config;
    this.inverse = inverseFrequencies(model.config);
    this.plan = { exitLayer: model.config.numLayers, exitHead: 'full', remainder: false };
  }

  static fromCheckpoint(dir: string, kvCacheDtype: KvCacheDtype = 'float32', draftIds: Int32Array | null = null): ReferenceBackend {
    return new ReferenceBackend(loadReferenceModel(dir), kvCacheDtype, draftIds);
  }

  async arrange(plan: LayerPlan): Promise<void> {
    this.plan = { ...plan };
  }

  async forward(from: number, to: number, hidden: Float32Array, cache: KvCache, request?: HeadRequest): Promise<ForwardResult> {
    const everyExit = request !== undefined && from === 0 && this.plan.everyExit === true && to === this.plan.exitLayer;
    const exits: Int32Array[] = [];
    const out = await this.runLayers(from, to, hidden, cache, (layer, x) => {
      if (everyExit && layer < to - 1) exits.push(this.choose(x, this.draftIds).ids);
    });
    if (!request) return { hidden: out, ids: new Int32Array(0), logits: null, logitIds: null, exitIds: null };
    const draft = to < this.config.numLayers && to === this.plan.exitLayer && this.plan.exitHead === 'draft' ? this.draftIds : null;
    const { ids, logits } = this.choose(out, draft);
    return {
      hidden: out,
      ids,
      logits: request.output === 'logits' ? logits : null,
      logitIds: draft,
      exitIds: everyExit ? concatenate(exits) : null,
    };
  }

  /** The shared norm and the head over `hidden`: the full head, or the columns of the `draft` ids. */
  private choose(hidden: Float32Array, draft: Int32Array | null): { ids: Int32Array; logits: Float32Array } {
    const full = head(this.model, hidden);
    const logits = draft ? columns(full, this.config.vocabSize, draft) : full;
    const ids = argmaxRows(logits, draft ? draft.length : this.config.vocabSize);
    return { ids: draft ? ids.map((i) => draft[i]) : ids, logits };
  }

  embed(tokens: readonly number[]): Float32Array {
    return embed(this.model, tokens);
  }

  private async runLayers(
    from: number,
    to: number,
    hidden: Float32Array,
    cache: KvCache,
    afterLayer: (layer: number, hidden: Float32Array) => void,
  ): Promise<Float32Array> {
    checkLayerRange(this.config, from, to);
    const rows = checkRows(this.config, hidden);
    let x = hidden;
    for (let layer = from; layer < to; layer++) {
      const { cos, sin } = rotaryTables(this.inverse, cache.length(layer), rows);
      const out = decoderLayer(
        this.config,
        this.model.weights.layers[layer],
        x,
        this.toFloat32(cache.pastKeys(layer)),
        this.toFloat32(cache.pastValues(layer)),
        cos,
        sin,
        (rows) => this.toFloat32(this.stored(rows)),
      );
      cache.append(layer, this.stored(out.key), this.stored(out.value));
      x = out.hidden;
      afterLayer(layer, x);
    }
    return x;
  }

  private stored(rows: Float32Array): KvRows {
    return this.kvCacheDtype === 'float16' ? f32ToHalves(rows, 'F16') : rows;
  }

  private toFloat32(rows: KvRows): Float32Array {
    return rows instanceof Uint16Array ? halvesToF32(rows, 'F16') : rows;
  }

  async dispose(): Promise<void> {}
}

function concatenate(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The given columns of each row of [rows, vocab] logits. */
function columns(logits: Float32Array, vocab: number, ids: Int32Array): Float32Array {
  const rows = logits.length / vocab;
  const out = new Float32Array(rows * ids.length);
  for (let r = 0; r < rows; r++) for (let i = 0; i < ids.length; i++) out[r * ids.length + i] = logits[r * vocab + ids[i]];
  return out;
}
