/**
 * Import of a PyTorch state_dict saved with safetensors (`safetensors.torch.save_file(
 * model.state_dict(), path)`) as an aekit model file.
 *
 * A state_dict holds the weights and nothing else, so the import is told what the file
 * cannot say: the activations, the input scaling, the loss, and the data it was trained on,
 * each defaulting to the lecture notebook's (tanh after every linear map, MNIST in [-1, 1],
 * MSE). Everything the file does say is checked: the names, every shape, the chain of sizes.
 *
 * Names accepted (after wrappers' prefixes are removed: `module.` from DataParallel and DDP,
 * `_orig_mod.` from torch.compile, `model.`):
 *   - aekit's and the notebook's: `encoder.N.weight`/`.bias`, `decoder.N.weight`/`.bias`;
 *     a decoder layer with a bias and no weight is tied to its mirror encoder layer;
 *   - a flat nn.Sequential's: `N.weight`/`.bias`, the first half of its Linear layers the
 *     encoder and the second half the decoder.
 * Within a part, layers go in the order of N (nn.Sequential's module index). The decoder must
 * mirror the encoder's sizes (aekit's architecture). Anything else (a convolution's 4-D
 * weight, batch norm's running statistics, a missing bias) is refused naming the tensor.
 */
import type { ActivationName, Backend, LossName } from '../core/backend.js';
import { show } from '../core/errors.js';
import type { Scaling } from '../data/scaling.js';
import { failModel as fail, MODEL_FORMAT, modelFromSafetensors, type LoadedModel, type ModelConfig } from './model-file.js';
import type { SafetensorsFile, Tensor } from './safetensors.js';

/** The prefixes PyTorch's wrappers put before a module's own names, removed before matching. */
export const WRAPPER_PREFIXES = ['module.', '_orig_mod.', 'model.'] as const;

export interface ImportOptions {
  /** After every linear map but the last (the notebook's: tanh). */
  activation: ActivationName;
  /** After the decoder's last linear map (the notebook's: tanh). */
  outputActivation: ActivationName;
  /** The input scaling the module was trained with (the notebook's: symmetric, 0..255 to [-1, 1]). */
  scaling: Scaling;
  loss: LossName;
  /**
   * true: the decoder's weights are the encoder's transposes (present and equal, or absent);
   * false: untied; undefined: tied exactly when the file has no decoder weights.
   */
  tied?: boolean;
  /** The model's record of its training data (config.training.data), or undefined for none. */
  data?: Record<string, unknown>;
  /** Where the state_dict came from, for the model's record. */
  from?: { path: string; sha256: string };
}

interface Layer {
  index: number;
  prefix: string;
  weight?: Tensor;
  bias?: Tensor;
}

const NAME = /^(?:(encoder|decoder)\.)?(\d+)\.(weight|bias)$/;
const BATCH_NORM = /\.(running_mean|running_var|num_batches_tracked)$/;


/** The names with a wrapper prefix that every name shares removed, repeatedly. */
function stripWrappers(names: string[]): Map<string, string> {
  let map = new Map(names.map((n) => [n, n] as [string, string]));
  for (;;) {
    const prefix = WRAPPER_PREFIXES.find((p) => map.size > 0 && [...map.values()].every((n) => n.startsWith(p)));
    if (!prefix) return map;
    map = new Map([...map].map(([orig, n]) => [orig, n.slice(prefix.length)]));
  }
}

/**
 * Turns a state_dict into an aekit model, checking it as described in the module comment.
 * @returns the model and its config, ready for saveModel.
 * @throws ModelFormatError naming the file and the tensor for anything that is not an
 *   autoencoder of Linear layers, or a file that is an aekit model already.
 */
export function importStateDict(file: SafetensorsFile, backend: Backend, o: ImportOptions, source = 'state_dict'): LoadedModel {
  if (file.metadata.format === MODEL_FORMAT) fail(source, 'a plain state_dict', 'no aekit metadata', `an aekit model already (use it as it is)`);
  if (file.tensors.size === 0) fail(source, 'tensors', 'the weights and biases of Linear layers', 'none');
  const names = stripWrappers([...file.tensors.keys()]);
  const parts = { encoder: new Map<number, Layer>(), decoder: new Map<number, Layer>(), flat: new Map<number, Layer>() };
  for (const [orig, name] of names) {
    const m = NAME.exec(name);
    if (!m) {
      if (BATCH_NORM.test(name)) fail(source, `tensor ${show(orig)}`, 'only Linear layers (weight and bias)', 'a batch-norm buffer');
      fail(source, `tensor ${show(orig)}`, 'a name like encoder.0.weight, decoder.0.bias or 0.weight (a Linear layer\'s weight or bias)', 'another name');
    }
    const part = (m[1] ?? 'flat') as keyof typeof parts;
    const index = Number(m[2]);
    const layers = parts[part];
    const layer = layers.get(index) ?? { index, prefix: m[1] ? `${m[1]}.${index}` : String(index) };
    layers.set(index, layer);
    const t = file.tensors.get(orig)!;
    if (m[3] === 'weight') {
      if (t.shape.length !== 2) fail(source, `shape of ${orig}`, "a Linear layer's 2-D [out, in] weight", t.shape.length === 4 ? `[${t.shape.join(', ')}] (a 2-D convolution's weight)` : `[${t.shape.join(', ')}]`);
      layer.weight = t;
    } else {
      if (t.shape.length !== 1) fail(source, `shape of ${orig}`, "a Linear layer's 1-D [out] bias", `[${t.shape.join(', ')}]`);
      layer.bias = t;
    }
  }
  if (parts.flat.size > 0 && parts.encoder.size + parts.decoder.size > 0) {
    fail(source, 'tensor names', 'one style: encoder.N/decoder.N, or a flat nn.Sequential\'s N', 'both');
  }
  const sorted = (m: Map<number, Layer>) => [...m.values()].sort((a, b) => a.index - b.index);
  let enc: Layer[];
  let dec: Layer[];
  if (parts.flat.size > 0) {
    const all = sorted(parts.flat);
    if (all.length % 2 !== 0) fail(source, 'Linear layers', 'an even number (the encoder\'s, then the decoder\'s mirror)', all.length);
    enc = all.slice(0, all.length / 2);
    dec = all.slice(all.length / 2);
  } else {
    enc = sorted(parts.encoder);
    dec = sorted(parts.decoder);
    if (enc.length === 0) fail(source, 'encoder layers', 'encoder.N.weight and encoder.N.bias', 'none');
    if (dec.length !== enc.length) fail(source, 'decoder layers', `${enc.length} (mirroring the encoder's)`, dec.length);
  }
  for (const l of [...enc, ...dec]) {
    if (!l.bias) fail(source, `tensor ${show(`${l.prefix}.bias`)}`, `present beside ${l.prefix}.weight (nn.Linear with bias=True)`, 'missing');
    if (l.weight && l.weight.shape[0] !== l.bias.shape[0]) fail(source, `shape of ${l.prefix}.bias`, `[${l.weight.shape[0]}] (the rows of ${l.prefix}.weight)`, `[${l.bias.shape.join(', ')}]`);
  }
  for (const l of enc) if (!l.weight) fail(source, `tensor ${show(`${l.prefix}.weight`)}`, `present beside ${l.prefix}.bias`, 'missing');
  const missingDecoderWeights = dec.filter((l) => !l.weight);
  if (missingDecoderWeights.length > 0 && missingDecoderWeights.length < dec.length) {
    fail(source, `tensor ${show(`${missingDecoderWeights[0]!.prefix}.weight`)}`, 'present (an untied decoder) or every decoder weight absent (tied)', 'missing');
  }
  const tied = o.tied ?? missingDecoderWeights.length > 0;
  if (!tied && missingDecoderWeights.length > 0) fail(source, `tensor ${show(`${dec[0]!.prefix}.weight`)}`, 'present for an untied model (--tied says the decoder reuses the encoder\'s weights)', 'missing');

  // The chain of sizes: input, each encoder layer's output; the decoder mirrors it.
  const layers = [enc[0]!.weight!.shape[1]!];
  for (const l of enc) {
    const [out, inSize] = l.weight!.shape as [number, number];
    if (inSize !== layers[layers.length - 1]) fail(source, `shape of ${l.prefix}.weight`, `[*, ${layers[layers.length - 1]}] (the previous layer's output)`, `[${l.weight!.shape.join(', ')}]`);
    layers.push(out);
  }
  const depth = enc.length;
  const renamed = new Map<string, Tensor>();
  enc.forEach((l, i) => {
    renamed.set(`encoder.${2 * i}.weight`, l.weight!);
    renamed.set(`encoder.${2 * i}.bias`, l.bias!);
  });
  dec.forEach((l, i) => {
    const out = layers[depth - i - 1]!;
    const inSize = layers[depth - i]!;
    let w = l.weight;
    if (w && (w.shape[0] !== out || w.shape[1] !== inSize)) {
      fail(source, `shape of ${l.prefix}.weight`, `[${out}, ${inSize}] (the decoder mirrors the encoder's ${layers.join('→')})`, `[${w.shape.join(', ')}]`);
    }
    if (l.bias!.shape[0] !== out) fail(source, `shape of ${l.prefix}.bias`, `[${out}] (the decoder mirrors the encoder's ${layers.join('→')})`, `[${l.bias!.shape.join(', ')}]`);
    if (!w) {
      // Tied without decoder weights: the transposes of the mirror encoder layer's weight.
      const e = enc[depth - 1 - i]!.weight!;
      const data = new Float32Array(out * inSize);
      for (let r = 0; r < inSize; r++) for (let c = 0; c < out; c++) data[c * inSize + r] = e.data[r * out + c]!;
      w = { dtype: 'F32', shape: [out, inSize], data };
    }
    renamed.set(`decoder.${2 * i}.weight`, w);
    renamed.set(`decoder.${2 * i}.bias`, l.bias!);
  });
  const config: ModelConfig = {
    format: MODEL_FORMAT,
    architecture: { layers, activation: o.activation, outputActivation: o.outputActivation, tied },
    scaling: o.scaling,
    loss: o.loss,
    training: { imported: { format: 'pytorch state_dict (safetensors)', ...(o.from ? { from: o.from } : {}) }, ...(o.data ? { data: o.data } : {}) },
  };
  // modelFromSafetensors checks the rest as for any model file: every shape against the
  // architecture, finite values, and a tied model's decoder weights against the transposes.
  return modelFromSafetensors({ metadata: { format: MODEL_FORMAT, config: JSON.stringify(config) }, tensors: renamed }, backend, source);
}
