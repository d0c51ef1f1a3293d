// LayerBackend over the plain-TypeScript reference forward: the oracle the engine and the ONNX package are tested
// against. Same contract as the ONNX backend (positions implicit in the cache length, keys appended per layer).
import type { LayerBackend } from '../engine/backend.js';
import type { KvCache, KvCacheDtype, KvRows } from '../engine/kvCache.js';
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

  /** 'float16': keys and values are rounded to half precision when cached, as a float16-cache package stores them. */
  constructor(
    private readonly model: ReferenceModel,
    readonly kvCacheDtype: KvCacheDtype = 'float32',
  ) {
    this.config = model.config;
    this.inverse = inverseFrequencies(model.config);
  }

  static fromCheckpoint(dir: string, kvCacheDtype: KvCacheDtype = 'float32'): ReferenceBackend {
    return new ReferenceBackend(loadReferenceModel(dir), kvCacheDtype);
  }

  embed(tokens: readonly number[]): Float32Array {
    return embed(this.model, tokens);
  }

  async runLayers(from: number, to: number, hidden: Float32Array, cache: KvCache): Promise<Float32Array> {
    checkLayerRange(this.config, from, to);
    const rows = checkRows(this.config, hidden);
    let x = hidden;
    for (let layer = from; layer < to; layer++) {
      const { cos, sin } = rotaryTables(this.inverse, cache.length(layer), rows);
      const out = decoderLayer(
        this.config,
        this.model.weights.layers[layer],
        x,
        Array.from({ length: cache.kvHeads }, (_, head) => this.toFloat32(cache.pastKeys(layer, head))),
        Array.from({ length: cache.kvHeads }, (_, head) => this.toFloat32(cache.pastValues(layer, head))),
        cos,
        sin,
        (rows) => this.toFloat32(this.stored(rows)),
      );
      cache.append(layer, this.stored(out.key), this.stored(out.value));
      x = out.hidden;
    }
    return x;
  }

  private stored(rows: Float32Array): KvRows {
    return this.kvCacheDtype === 'float16' ? f32ToHalves(rows, 'F16') : rows;
  }

  private toFloat32(rows: KvRows): Float32Array {
    return rows instanceof Uint16Array ? halvesToF32(rows, 'F16') : rows;
  }

  async logits(hidden: Float32Array): Promise<Float32Array> {
    checkRows(this.config, hidden);
    return head(this.model, hidden);
  }

  async argmax(hidden: Float32Array): Promise<Int32Array> {
    return argmaxRows(await this.logits(hidden), this.config.vocabSize);
  }

  async dispose(): Promise<void> {}
}
