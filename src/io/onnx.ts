/**
 * ONNX export: a model, or its encoder or decoder alone, as an ONNX graph that ONNX Runtime,
 * Triton or onnxruntime-web can serve.
 *
 * The graph (opset 13, IR version 7, the pair ONNX's versioning table gives for opset 13):
 *
 *   input [batch, n] ─(Mul, Add: the input scaling, with --with-scaling)─
 *     Gemm(encoder.0.weight, encoder.0.bias, transB=1) ─ Tanh|Sigmoid|Relu|(none for linear) ─ …
 *     ─ Gemm(decoder.0.weight, …) ─ … ─(Mul, Add: the inverse scaling)─ output [batch, n]
 *
 * Each linear map is `Gemm` with the weight as stored in the state_dict ([out, in], so
 * `transB=1`: Y = X·Wᵀ + b, as nn.Linear computes). A tied decoder has no weight of its own:
 * its `Gemm` reads the encoder's weight with `transB=0` (X·W), so the file holds each shared
 * matrix once. Initialisers and nodes are named after the state_dict (`encoder.0.weight`,
 * node `encoder.0` for the Gemm, `encoder.1` for its activation, as nn.Sequential numbers its
 * modules). The batch dimension is the symbolic `batch`.
 *
 * Inputs and outputs: the full model and the encoder take `input` [batch, inputSize]; the
 * decoder takes `code` [batch, codeSize]. The full model and the decoder give `reconstruction`
 * [batch, inputSize]; the encoder gives `code` [batch, codeSize]. Without scaling, `input` and
 * `reconstruction` are in the scaled space the model was trained in (MNIST: [-1, 1]); with it,
 * in raw units (MNIST: 0..255), through the model's own affine map (data/scaling.ts: per
 * feature for tables). The model's config goes into the metadata (`aekit.config`, JSON).
 *
 * The protobuf is written with onnx-proto (ONNX's onnx.proto compiled for protobufjs).
 */
import onnxProto from 'onnx-proto';
import { ValidationError, expected } from '../core/errors.js';
import type { ActivationName } from '../core/backend.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import type { ModelConfig } from './model-file.js';

const { onnx } = onnxProto;

export const ONNX_PARTS = ['full', 'encoder', 'decoder'] as const;
export type OnnxPart = (typeof ONNX_PARTS)[number];
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

export interface OnnxOptions {
  /** Which map to export (default full). */
  part?: OnnxPart;
  /** Put the input scaling before the graph and its inverse after it (default false). */
  withScaling?: boolean;
  /** The model's config, stored as metadata (`aekit.config`); its scaling is used with withScaling. */
  config: Pick<ModelConfig, 'scaling'> & Partial<ModelConfig>;
  /** The producer's version, for the file's producer_version. */
  version?: string;
}

const ACTIVATION_OPS: Record<ActivationName, string | null> = { tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu', linear: null };

function floatTensor(name: string, dims: number[], data: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    // raw_data is little-endian bytes, as ONNX specifies and every supported platform stores.
    rawData: new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength).slice(),
  };
}

function valueInfo(name: string, width: number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } } },
  };
}

/**
 * The affine map x -> x·k + c of a scaling (`inverse`: its inverse), per feature for tables
 * (k and c of the features' count) or shared (length 1, broadcast by Mul and Add).
 */
function affine(s: Scaling, inverse: boolean): { k: Float32Array; c: Float32Array } {
  const [lo, hi] = rangeOf(s.kind);
  const span = hi - lo;
  const mins = s.featureMin ?? [s.min];
  const maxs = s.featureMax ?? [s.max];
  const k = new Float32Array(mins.length);
  const c = new Float32Array(mins.length);
  for (let j = 0; j < mins.length; j++) {
    const a = mins[j]!;
    const width = maxs[j]! - a;
    // scaled = lo + (x - a)·span/width;  raw = a + (y - lo)·width/span
    k[j] = inverse ? width / span : span / width;
    c[j] = inverse ? a - lo * (width / span) : lo - a * (span / width);
  }
  return { k, c };
}

/**
 * Builds the ONNX model of `model` (see the module comment for the graph).
 * @throws ValidationError for an unknown part, or a scaling whose feature count is not the
 *   model's input size.
 */
export function encodeOnnx(model: Autoencoder, o: OnnxOptions): Uint8Array {
  const part = o.part ?? 'full';
  if (!(ONNX_PARTS as readonly string[]).includes(part)) throw new ValidationError(expected('part', `one of ${ONNX_PARTS.join(', ')}`, part));
  const scaling = o.config.scaling;
  const features = scaling.featureMin?.length;
  if (o.withScaling && features !== undefined && features !== model.inputSize) {
    throw new ValidationError(expected('scaling', `${model.inputSize} features (the model's input size)`, features));
  }
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const inputName = part === 'decoder' ? 'code' : 'input';
  const outputName = part === 'encoder' ? 'code' : 'reconstruction';
  let current = inputName;
  let step = 0;
  const next = (final: boolean) => (final ? outputName : `t${step++}`);

  const addScaling = (inverse: boolean, final: boolean) => {
    const { k, c } = affine(scaling, inverse);
    const prefix = inverse ? 'unscale' : 'scale';
    initializers.push(floatTensor(`${prefix}.mul`, [k.length], k), floatTensor(`${prefix}.add`, [c.length], c));
    const mid = next(false);
    nodes.push({ name: `${prefix}.mul`, opType: 'Mul', input: [current, `${prefix}.mul`], output: [mid] });
    const out = next(final);
    nodes.push({ name: `${prefix}.add`, opType: 'Add', input: [mid, `${prefix}.add`], output: [out] });
    current = out;
  };

  const encoderOn = part !== 'decoder';
  const decoderOn = part !== 'encoder';
  const scaleIn = o.withScaling === true && encoderOn;
  const scaleOut = o.withScaling === true && decoderOn;
  const layers: Array<{ prefix: string; layer: Autoencoder['encoder'][number]; weightName: string }> = [];
  const depth = model.encoder.length;
  model.encoder.forEach((layer, i) => {
    if (encoderOn) layers.push({ prefix: `encoder.${2 * i}`, layer, weightName: `encoder.${2 * i}.weight` });
  });
  model.decoder.forEach((layer, i) => {
    // A tied decoder layer reads the encoder weight it shares (encoder layer depth-1-i).
    const weightName = layer.transposed ? `encoder.${2 * (depth - 1 - i)}.weight` : `decoder.${2 * i}.weight`;
    if (decoderOn) layers.push({ prefix: `decoder.${2 * i}`, layer, weightName });
  });
  // Shared weights go in once, even when only the decoder is exported.
  const written = new Set<string>();

  if (scaleIn) addScaling(false, false);
  layers.forEach(({ prefix, layer, weightName }, idx) => {
    const last = idx === layers.length - 1;
    const w = layer.weight;
    if (!written.has(weightName)) {
      initializers.push(floatTensor(weightName, [w.rows, w.cols], w.value));
      written.add(weightName);
    }
    initializers.push(floatTensor(`${prefix}.bias`, [layer.outSize], layer.bias.value));
    const op = ACTIVATION_OPS[layer.activation];
    const finalHere = last && op === null && !scaleOut;
    const z = next(finalHere);
    nodes.push({
      name: prefix,
      opType: 'Gemm',
      input: [current, weightName, `${prefix}.bias`],
      output: [z],
      attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: layer.transposed ? 0 : 1 }],
    });
    current = z;
    if (op !== null) {
      const [seq, index] = prefix.split('.') as [string, string];
      const out = next(last && !scaleOut);
      nodes.push({ name: `${seq}.${Number(index) + 1}`, opType: op, input: [current], output: [out] });
      current = out;
    }
  });
  if (scaleOut) addScaling(true, true);

  const width = (name: string) => (name === 'code' ? model.codeSize : model.inputSize);
  const metadata: onnxProto.onnx.IStringStringEntryProto[] = [
    { key: 'aekit.part', value: part },
    { key: 'aekit.with_scaling', value: String(o.withScaling === true) },
    { key: 'aekit.config', value: JSON.stringify(o.config) },
  ];
  const m = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'aekit',
    producerVersion: o.version ?? '',
    docString: `aekit autoencoder, ${part}${o.withScaling ? ', raw units in and out' : ', scaled units'}`,
    metadataProps: metadata,
    graph: {
      name: `aekit_${part}`,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(inputName, width(inputName))],
      output: [valueInfo(outputName, width(outputName))],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}
