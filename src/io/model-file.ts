import { LOSSES, type Backend, type LossName } from '../core/backend.js';
import { AeError, ModelFormatError, expected, show } from '../core/errors.js';
import { Autoencoder, validateArchitecture, type ArchitectureConfig } from '../nn/autoencoder.js';
import { validateScaling, type Scaling } from '../data/scaling.js';
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile, safetensorsParts, type SafetensorsFile, type TensorInput } from './safetensors.js';
import { writeFileAtomic } from './atomic.js';
import { MAX_JSON_STRUCTURES, structuresIn } from './json-scan.js';

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
  /**
   * An application's state beside the weights (an anomaly detector's threshold and training
   * scores: apps/anomaly/detector.ts validates it). Kept in the metadata, not as tensors, so
   * the file stays a plain state_dict that PyTorch's load_state_dict(strict=True) accepts.
   */
  detector?: Record<string, unknown>;
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
  return encodeSafetensors(stateDict(model), modelMetadata(model, meta));
}

function modelMetadata(model: Autoencoder, meta: Omit<ModelConfig, 'format' | 'architecture'>): Record<string, string> {
  const config: ModelConfig = { format: MODEL_FORMAT, architecture: model.config, ...meta };
  return { format: MODEL_FORMAT, config: JSON.stringify(config) };
}

/** Writes the model atomically: a temporary file, then a rename; the weights are written from where they are, not copied into one buffer first. */
export function saveModel(path: string, model: Autoencoder, meta: Omit<ModelConfig, 'format' | 'architecture'>): void {
  writeFileAtomic(path, safetensorsParts(stateDict(model), modelMetadata(model, meta)));
}

/**
 * Values in messages come from the file; show() escapes most control characters but not
 * every line break (U+2028, U+2029 pass through JSON.stringify), so flatten what is left to
 * keep messages one line, as the safetensors decoder does.
 */
function oneLine(message: string): string {
  return message.replace(/[\r\n\u2028\u2029]/g, ' ');
}

/** Throws the ModelFormatError `<source>: <what>: expected <rule>, received <received>`, flattened to one line. */
export function failModel(source: string, what: string, rule: string, received: unknown): never {
  throw new ModelFormatError(oneLine(`${source}: ${expected(what, rule, received)}`));
}

/**
 * Validates the metadata's config; any problem becomes a ModelFormatError naming the file.
 * The config's JSON may hold at most MAX_JSON_STRUCTURES (4096) objects, arrays and keys,
 * counted before it is parsed (a model's has under 100; its long arrays of numbers are bounded
 * by the safetensors header's 16 MiB).
 */
export function parseModelConfig(metadata: Record<string, string>, source: string): ModelConfig {
  if (metadata.format === undefined && metadata.config === undefined) {
    // What safetensors.torch.save_file(model.state_dict(), …) writes: weights, no metadata.
    throw new ModelFormatError(oneLine(`${source}: expected aekit metadata ("format" and "config"), received a plain state_dict; import it with: ae import --in ${source} --out model.safetensors`));
  }
  if (metadata.format === 'aekit-codes/1') {
    throw new ModelFormatError(oneLine(`${source}: expected a model file, received a codes file (aekit-codes/1); decode it with: ae decode --model <model> --codes ${source} --out <file>`));
  }
  if (metadata.format !== MODEL_FORMAT) failModel(source, 'metadata "format"', show(MODEL_FORMAT), metadata.format);
  const structures = structuresIn(metadata.config ?? '');
  if (structures > MAX_JSON_STRUCTURES) {
    failModel(source, 'metadata "config"', `JSON of at most ${MAX_JSON_STRUCTURES} objects, arrays and keys`, structures);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.config ?? '');
  } catch {
    failModel(source, 'metadata "config"', 'a JSON object', metadata.config);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) failModel(source, 'metadata "config"', 'a JSON object', raw);
  const o = raw as Record<string, unknown>;
  try {
    const architecture = validateArchitecture(o.architecture);
    const scaling = validateScaling(o.scaling);
    if (typeof o.loss !== 'string' || !(LOSSES as readonly string[]).includes(o.loss)) failModel(source, 'config.loss', `one of ${LOSSES.join(', ')}`, o.loss);
    const training = typeof o.training === 'object' && o.training !== null && !Array.isArray(o.training) ? (o.training as Record<string, unknown>) : {};
    if (o.detector !== undefined && (typeof o.detector !== 'object' || o.detector === null || Array.isArray(o.detector))) failModel(source, 'config.detector', 'a JSON object', o.detector);
    return { format: MODEL_FORMAT, architecture, scaling, loss: o.loss as LossName, training, ...(o.detector !== undefined ? { detector: o.detector as Record<string, unknown> } : {}) };
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    if (err instanceof AeError) throw new ModelFormatError(oneLine(`${source}: config: ${err.message}`));
    throw err;
  }
}

/**
 * Builds the model a decoded file describes. Checks that the tensors are exactly the
 * ones the architecture needs, with the shapes it implies (so the layers fit together),
 * that every value is finite, and that a tied model's decoder weights are the transposes.
 *
 * Everything is checked against the file before the model is built: the config alone may
 * name layers of up to 2^20 units, and allocating those before seeing that the file holds
 * no such tensors would turn a corrupt file into a RangeError or an out-of-memory crash.
 * Once the shapes match, the model is no larger than the file's own tensors.
 */
export function modelFromSafetensors(file: SafetensorsFile, backend: Backend, source = 'model file'): LoadedModel {
  const config = parseModelConfig(file.metadata, source);
  const { layers, tied } = config.architecture;
  const depth = layers.length - 1;
  const label = layers.join('-');

  const check = (name: string, shape: number[]): Float32Array => {
    const t = file.tensors.get(name);
    if (!t) failModel(source, `tensor ${show(name)}`, `present for a ${label} model`, 'missing');
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      failModel(source, `shape of ${name}`, `[${shape.join(', ')}]`, `[${t.shape.join(', ')}]`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) failModel(source, `values of ${name}`, 'finite numbers', t.data[i]);
    }
    return t.data;
  };

  // The state_dict the architecture implies, in order (see stateDict above).
  const encoder: Array<{ weight: Float32Array; bias: Float32Array }> = [];
  const decoder: Array<{ weight: Float32Array; bias: Float32Array }> = [];
  const expectedNames = new Set<string>();
  const layer = (prefix: string, outSize: number, inSize: number) => {
    expectedNames.add(`${prefix}.weight`).add(`${prefix}.bias`);
    return { weight: check(`${prefix}.weight`, [outSize, inSize]), bias: check(`${prefix}.bias`, [outSize]) };
  };
  for (let i = 0; i < depth; i++) encoder.push(layer(`encoder.${2 * i}`, layers[i + 1]!, layers[i]!));
  for (let i = 0; i < depth; i++) decoder.push(layer(`decoder.${2 * i}`, layers[depth - i - 1]!, layers[depth - i]!));
  for (const name of file.tensors.keys()) {
    if (!expectedNames.has(name)) failModel(source, `tensor ${show(name)}`, `only the tensors of a ${label} model`, 'an extra tensor');
  }
  if (tied) {
    // decoder.{2i} is the transpose of encoder.{2(depth-1-i)}: [out, in] = [rows, cols] of
    // the encoder weight swapped.
    for (let i = 0; i < depth; i++) {
      const e = encoder[depth - 1 - i]!.weight;
      const d = decoder[i]!.weight;
      const rows = layers[depth - i]!; // the encoder weight's out size
      const cols = layers[depth - i - 1]!; // its in size
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          if (d[c * rows + r] !== e[r * cols + c]) {
            failModel(
              source,
              `decoder.${2 * i}.weight of a tied model`,
              `the transpose of encoder.${2 * (depth - 1 - i)}.weight`,
              `a different value at [${c}, ${r}]`,
            );
          }
        }
      }
    }
  }

  const model = new Autoencoder(config.architecture, backend);
  model.encoder.forEach((l, i) => {
    l.weight.value.set(encoder[i]!.weight);
    l.bias.value.set(encoder[i]!.bias);
  });
  model.decoder.forEach((l, i) => {
    // A tied decoder layer shares its encoder's Param, loaded above.
    if (!l.transposed) l.weight.value.set(decoder[i]!.weight);
    l.bias.value.set(decoder[i]!.bias);
  });
  return { model, config };
}

export function decodeModel(buf: Uint8Array, backend: Backend, source = 'model file'): LoadedModel {
  return modelFromSafetensors(decodeSafetensors(buf, source), backend, source);
}

export function loadModel(path: string, backend: Backend): LoadedModel {
  return modelFromSafetensors(readSafetensorsFile(path), backend, path);
}
