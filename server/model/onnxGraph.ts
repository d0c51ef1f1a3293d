// A small builder for ONNX ModelProto (via onnx-proto): named values, nodes, inline constants and initializers
// that live in an external weights file. Only what the layer and head graphs need.
import { onnx } from 'onnx-proto';

export const enum DataType {
  Float = 1,
  Uint8 = 2,
  Int64 = 7,
  Float16 = 10,
}

export type Dim = number | string;
type Attribute = number | number[] | { float: number };

/** An initializer stored in the package's weights file. */
export interface ExternalTensor {
  dataType: DataType;
  dims: number[];
  offset: number;
  length: number;
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly externals = new Set<string>();
  private counter = 0;

  constructor(
    private readonly name: string,
    private readonly weightsFile: string,
  ) {}

  input(name: string, dataType: DataType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dataType, dims));
    return name;
  }

  output(name: string, dataType: DataType, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dataType, dims));
  }

  /** An int64 constant (shapes, axes). */
  ints(values: number[]): string {
    const raw = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), 8 * i));
    return this.inline(DataType.Int64, [values.length], raw);
  }

  /** A float32 constant. */
  floats(dims: number[], values: ArrayLike<number>): string {
    return this.inline(DataType.Float, dims, Buffer.from(Float32Array.from(values).buffer));
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    const raw = Buffer.alloc(4);
    raw.writeFloatLE(value);
    return this.inline(DataType.Float, [], raw);
  }

  /** A constant of raw little-endian bytes. */
  inlineBytes(dataType: DataType, dims: number[], raw: Buffer): string {
    return this.inline(dataType, dims, raw);
  }

  /** An initializer stored in the weights file; naming one again refers to the same initializer. */
  external(name: string, tensor: ExternalTensor): string {
    if (this.externals.has(name)) return name;
    this.externals.add(name);
    this.initializers.push({
      name,
      dataType: tensor.dataType,
      dims: tensor.dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.weightsFile },
        { key: 'offset', value: String(tensor.offset) },
        { key: 'length', value: String(tensor.length) },
      ],
    });
    return name;
  }

  /** Adds a node; returns its output names (fresh unique names unless given). */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    options: { outputs?: string[] | number; domain?: string } = {},
  ): string[] {
    const outputs =
      typeof options.outputs === 'object'
        ? options.outputs
        : Array.from({ length: options.outputs ?? 1 }, () => `${opType.toLowerCase()}_${this.counter++}`);
    this.nodes.push({
      opType,
      domain: options.domain ?? '',
      input: inputs,
      output: outputs,
      name: `${opType}_${this.counter++}`,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return outputs;
  }

  /** Single-output node. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, domain?: string): string {
    return this.node(opType, inputs, attributes, { domain })[0];
  }

  encode(): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: 'layerskip-convert',
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  private inline(dataType: DataType, dims: number[], rawData: Buffer): string {
    const name = `const_${this.counter++}`;
    this.initializers.push({ name, dataType, dims, rawData });
    return name;
  }
}

function valueInfo(name: string, dataType: DataType, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: dataType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: Attribute): onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INT, i: value };
}
