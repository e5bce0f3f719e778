import { LOSSES, type Backend, type LossName } from '../core/backend.js';
import { AeError, ModelFormatError, expected, show } from '../core/errors.js';
import { Autoencoder, validateArchitecture, type ArchitectureConfig } from '../nn/autoencoder.js';
import { validateScaling, type Scaling } from '../data/scaling.js';
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile, type SafetensorsFile, type TensorInput } from './safetensors.js';
import { writeFileAtomic } from './atomic.js';

export const MODEL_FORMAT = 'aekit-autoencoder/1';

/**
 * Everything inference needs besides the weights, stored in the safetensors metadata
 * under "config" as JSON: the architecture, the input scaling the model was trained with,
 * the loss, and (for the record) the training settings.
 */
export interface ModelConfig {
  format: typeof MODEL_FORMAT;
  architecture: ArchitectureConfig;
  scaling: Scaling;
  loss: LossName;
  /** Free-form record of how the model was trained (epochs, optimiser, seed, data, ...). */
  training: Record<string, unknown>;
}

export interface LoadedModel {
  model: Autoencoder;
  config: ModelConfig;
}

/**
 * The state_dict of the notebook's PyTorch module: Linear layers at even indices of
 * `encoder` and `decoder` (each followed by its activation module). A tied model also
 * writes each decoder weight, as the transpose of its encoder weight, so that the plain
 * untied PyTorch module loads the file with load_state_dict as it is.
 */
function stateDict(model: Autoencoder): Array<[string, TensorInput]> {
  const out: Array<[string, TensorInput]> = [];
  const add = (prefix: string, layer: Autoencoder['encoder'][number]) => {
    const w = layer.weight;
    let data = w.value;
    if (layer.transposed) {
      data = new Float32Array(w.value.length);
      for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) data[j * w.rows + i] = w.value[i * w.cols + j]!;
    }
    out.push([`${prefix}.weight`, { shape: [layer.outSize, layer.inSize], data }]);
    out.push([`${prefix}.bias`, { shape: [layer.outSize], data: layer.bias.value }]);
  };
  model.encoder.forEach((l, i) => add(`encoder.${2 * i}`, l));
  model.decoder.forEach((l, i) => add(`decoder.${2 * i}`, l));
  return out;
}

export function encodeModel(model: Autoencoder, meta: Omit<ModelConfig, 'format' | 'architecture'>): Uint8Array {
  const config: ModelConfig = { format: MODEL_FORMAT, architecture: model.config, ...meta };
  return encodeSafetensors(stateDict(model), { format: MODEL_FORMAT, config: JSON.stringify(config) });
}

/** Writes the model atomically: a temporary file, then a rename. */
export function saveModel(path: string, model: Autoencoder, meta: Omit<ModelConfig, 'format' | 'architecture'>): void {
  writeFileAtomic(path, encodeModel(model, meta));
}

function fail(source: string, what: string, rule: string, received: unknown): never {
  throw new ModelFormatError(`${source}: ${expected(what, rule, received)}`);
}

/** Validates the metadata's config; any problem becomes a ModelFormatError naming the file. */
export function parseModelConfig(metadata: Record<string, string>, source: string): ModelConfig {
  if (metadata.format !== MODEL_FORMAT) fail(source, 'metadata "format"', show(MODEL_FORMAT), metadata.format);
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.config ?? '');
  } catch {
    fail(source, 'metadata "config"', 'a JSON object', metadata.config);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(source, 'metadata "config"', 'a JSON object', raw);
  const o = raw as Record<string, unknown>;
  try {
    const architecture = validateArchitecture(o.architecture);
    const scaling = validateScaling(o.scaling);
    if (typeof o.loss !== 'string' || !(LOSSES as readonly string[]).includes(o.loss)) fail(source, 'config.loss', `one of ${LOSSES.join(', ')}`, o.loss);
    const training = typeof o.training === 'object' && o.training !== null && !Array.isArray(o.training) ? (o.training as Record<string, unknown>) : {};
    return { format: MODEL_FORMAT, architecture, scaling, loss: o.loss as LossName, training };
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    if (err instanceof AeError) throw new ModelFormatError(`${source}: config: ${err.message}`);
    throw err;
  }
}

/**
 * Builds the model a decoded file describes. Checks that the tensors are exactly the
 * ones the architecture needs, with the shapes it implies (so the layers fit together),
 * that every value is finite, and that a tied model's decoder weights are the transposes.
 */
export function modelFromSafetensors(file: SafetensorsFile, backend: Backend, source = 'model file'): LoadedModel {
  const config = parseModelConfig(file.metadata, source);
  const model = new Autoencoder(config.architecture, backend);
  const expectedNames = new Set<string>();
  const check = (name: string, shape: number[]): Float32Array => {
    expectedNames.add(name);
    const t = file.tensors.get(name);
    if (!t) fail(source, `tensor ${show(name)}`, `present for a ${config.architecture.layers.join('-')} model`, 'missing');
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail(source, `shape of ${name}`, `[${shape.join(', ')}]`, `[${t.shape.join(', ')}]`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) fail(source, `values of ${name}`, 'finite numbers', t.data[i]);
    }
    return t.data;
  };
  const load = (prefix: string, layer: Autoencoder['encoder'][number]) => {
    const w = check(`${prefix}.weight`, [layer.outSize, layer.inSize]);
    const p = layer.weight;
    if (!layer.transposed) p.value.set(w);
    else {
      for (let i = 0; i < p.rows; i++) {
        for (let j = 0; j < p.cols; j++) {
          if (w[j * p.rows + i] !== p.value[i * p.cols + j]) {
            fail(source, `${prefix}.weight of a tied model`, `the transpose of ${p.name}`, `a different value at [${j}, ${i}]`);
          }
        }
      }
    }
    layer.bias.value.set(check(`${prefix}.bias`, [layer.outSize]));
  };
  // Encoder first: a tied decoder compares against the encoder weights already loaded.
  model.encoder.forEach((l, i) => load(`encoder.${2 * i}`, l));
  model.decoder.forEach((l, i) => load(`decoder.${2 * i}`, l));
  for (const name of file.tensors.keys()) {
    if (!expectedNames.has(name)) fail(source, `tensor ${show(name)}`, `only the tensors of a ${config.architecture.layers.join('-')} model`, 'an extra tensor');
  }
  return { model, config };
}

export function decodeModel(buf: Uint8Array, backend: Backend, source = 'model file'): LoadedModel {
  return modelFromSafetensors(decodeSafetensors(buf, source), backend, source);
}

export function loadModel(path: string, backend: Backend): LoadedModel {
  return modelFromSafetensors(readSafetensorsFile(path), backend, path);
}
