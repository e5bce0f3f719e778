import { ACTIVATIONS, type ActivationName, type Backend, type LossName } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, rowSlice, type Matrix } from '../core/matrix.js';
import { checkLayerLengths, checkMemory, estimate, parameterCount } from '../core/memory.js';
import type { Rng } from '../core/rng.js';
import { check } from '../core/validate.js';
import { Dense, Param } from './dense.js';
import {
  addContractiveGradW,
  addContractiveGradZ,
  addL1Grad,
  checkContractiveDepth,
  contractiveSum,
  jacobianNorms,
  l1Sum,
  NO_REGULARIZATION,
  rowNormsSquared,
  type Regularization,
} from './regularizers.js';

/**
 * The architecture. `layers` lists the encoder's sizes from the input to the code,
 * e.g. [784, 30] or [784, 128, 30]; the decoder mirrors it back to the input size.
 * `activation` follows every linear map except the decoder's last, which is followed by
 * `outputActivation` (the notebook uses tanh for both).
 */
export interface ArchitectureConfig {
  layers: number[];
  activation: ActivationName;
  outputActivation: ActivationName;
  tied: boolean;
}

/**
 * The most layer sizes an architecture may list (input first, code last): 255 encoder layers.
 * It keeps every file a model writes within the safetensors reader's MAX_TENSORS (4096): a
 * model has 4 tensors per encoder layer and its checkpoint at most 4 times as many.
 */
export const MAX_LAYER_SIZES = 256;

export function validateArchitecture(c: unknown): ArchitectureConfig {
  if (typeof c !== 'object' || c === null) throw new ValidationError(expected('architecture', 'an object', c));
  const o = c as Record<string, unknown>;
  if (!Array.isArray(o.layers) || o.layers.length < 2) {
    throw new ValidationError(expected('layers', 'at least two sizes, input first and code last (e.g. 784,30)', o.layers));
  }
  if (o.layers.length > MAX_LAYER_SIZES) {
    throw new ValidationError(`layers: expected at most ${MAX_LAYER_SIZES} sizes, received ${o.layers.length}`);
  }
  o.layers.forEach((n, i) => check<number>(`layers[${i}]`, n, { kind: 'int', min: 1, max: 1 << 20 }));
  check('activation', o.activation, { kind: 'oneOf', choices: ACTIVATIONS });
  check('outputActivation', o.outputActivation, { kind: 'oneOf', choices: ACTIVATIONS });
  check('tied', o.tied, { kind: 'boolean' });
  checkLayerLengths('layers', o.layers as number[]);
  return {
    layers: [...(o.layers as number[])],
    activation: o.activation as ActivationName,
    outputActivation: o.outputActivation as ActivationName,
    tied: o.tied as boolean,
  };
}

/** Buffers for one batch size, allocated once and reused every step. */
interface Workspace {
  outs: Matrix[];
  grads: Matrix[];
}

/**
 * h = f(W_h x + b_h), x̂ = g(W_x h + b_x), generalised to stacks of dense layers.
 * Forward and backward are written out; the arithmetic runs on the chosen backend.
 */
export class Autoencoder {
  readonly config: ArchitectureConfig;
  readonly encoder: Dense[];
  readonly decoder: Dense[];
  /** Unique trainable parameters, in PyTorch state_dict order. */
  readonly params: Param[];
  private readonly workspaces = new Map<number, Workspace>();

  constructor(config: ArchitectureConfig, readonly backend: Backend, rng?: Rng) {
    this.config = validateArchitecture(config);
    const sizes = this.config.layers;
    // Every Param holds its values and its gradient; refused in one line before they are allocated.
    const bytes = 4 * parameterCount(sizes, this.config.tied);
    checkMemory('layers', estimate([['weights', bytes], ['gradients', bytes]]), 'a model');
    const depth = sizes.length - 1;
    this.encoder = [];
    this.decoder = [];
    this.params = [];
    for (let i = 0; i < depth; i++) {
      const w = new Param(`encoder.${2 * i}.weight`, sizes[i + 1]!, sizes[i]!);
      const b = new Param(`encoder.${2 * i}.bias`, 1, sizes[i + 1]!);
      this.encoder.push(new Dense(w, false, b, this.config.activation));
      this.params.push(w, b);
    }
    for (let i = 0; i < depth; i++) {
      const inSize = sizes[depth - i]!;
      const outSize = sizes[depth - i - 1]!;
      const act = i === depth - 1 ? this.config.outputActivation : this.config.activation;
      const b = new Param(`decoder.${2 * i}.bias`, 1, outSize);
      if (this.config.tied) {
        this.decoder.push(new Dense(this.encoder[depth - 1 - i]!.weight, true, b, act));
        this.params.push(b);
      } else {
        const w = new Param(`decoder.${2 * i}.weight`, outSize, inSize);
        this.decoder.push(new Dense(w, false, b, act));
        this.params.push(w, b);
      }
    }
    if (rng) this.initialize(rng);
  }

  get layers(): Dense[] {
    return [...this.encoder, ...this.decoder];
  }

  get inputSize(): number {
    return this.config.layers[0]!;
  }

  get codeSize(): number {
    return this.config.layers[this.config.layers.length - 1]!;
  }

  /**
   * nn.Linear's default initialisation, U(−1/√fan_in, 1/√fan_in) for weight and bias,
   * drawn layer by layer in state_dict order so runs are comparable with the notebook's.
   */
  initialize(rng: Rng): void {
    for (const layer of this.layers) {
      const bound = 1 / Math.sqrt(layer.inSize);
      if (!layer.transposed) rng.fillUniform(layer.weight.value, -bound, bound);
      rng.fillUniform(layer.bias.value, -bound, bound);
    }
  }

  private workspace(batch: number): Workspace {
    let ws = this.workspaces.get(batch);
    if (!ws) {
      const layers = this.layers;
      ws = {
        outs: layers.map((l) => matrix(batch, l.outSize)),
        grads: layers.map((l) => matrix(batch, l.outSize)),
      };
      // A fit sees at most a full and a final partial batch; evaluation adds one more size.
      if (this.workspaces.size >= 4) this.workspaces.clear();
      this.workspaces.set(batch, ws);
    }
    return ws;
  }

  private checkInput(x: Matrix, size: number, what: string): void {
    if (x.cols !== size) throw new ValidationError(expected(`${what} width`, `${size} columns to match the model`, x.cols));
  }

  /** Runs layers[from..to) on x; returns the workspace's output of the last one (valid until the next call). */
  private run(x: Matrix, from: number, to: number): Matrix {
    const ws = this.workspace(x.rows);
    const layers = this.layers;
    let input = x;
    for (let l = from; l < to; l++) {
      const layer = layers[l]!;
      const out = ws.outs[l]!;
      if (this.backend.matmulBiasActivation) {
        this.backend.matmulBiasActivation(input, false, layer.weight.valueMatrix, !layer.transposed, out, layer.bias.value, layer.activation);
      } else {
        this.backend.matmul(input, false, layer.weight.valueMatrix, !layer.transposed, out, 0);
        this.backend.biasActivation(out, layer.bias.value, layer.activation);
      }
      input = out;
    }
    return input;
  }

  /**
   * Training step, part one and two: forward, loss and backward on one batch. Leaves the
   * gradients in each Param.grad and returns the batch's objective: the mean reconstruction
   * loss plus any penalties. `target` is the clean input (for a denoising model `input` is its
   * corrupted version).
   */
  forwardBackward(input: Matrix, target: Matrix, loss: LossName, reg: Regularization = NO_REGULARIZATION): number {
    const layers = this.layers;
    const last = layers.length - 1;
    const code = this.encoder.length - 1;
    this.checkInput(input, this.inputSize, 'input');
    this.checkInput(target, this.inputSize, 'target');
    if (target.rows !== input.rows) throw new ValidationError(expected('target rows', `${input.rows} to match the input`, target.rows));
    if (reg.contractive > 0) checkContractiveDepth(this.encoder.length, this.config.layers);
    const ws = this.workspace(input.rows);
    // BCE after a sigmoid is differentiated with respect to the logit: (x̂ − x) needs no division.
    const wrtLogit = loss === 'bce' && layers[last]!.activation === 'sigmoid';
    const count = input.rows * this.inputSize;
    const batch = input.rows;
    const outLayer = layers[last]!;
    const outGrad = ws.grads[last]!;
    // For MSE, the output layer's forward, the loss, its gradient through the activation and
    // the output bias's gradient in one pass where the backend fuses them (x̂ is then not
    // stored), or the last three in one pass.
    const be = this.backend;
    const fusedLayer = loss === 'mse' && be.denseMseBackward !== undefined;
    const fusedOutput = fusedLayer || (loss === 'mse' && be.mseBackward !== undefined);
    let sum: number;
    if (fusedLayer) {
      const h = this.run(input, 0, last);
      const w = outLayer.weight.valueMatrix;
      sum = be.denseMseBackward!(h, w, !outLayer.transposed, outLayer.bias.value, outLayer.activation, target, outGrad, 1 / count, outLayer.bias.grad, false);
    } else {
      const yhat = this.run(input, 0, layers.length);
      sum = fusedOutput
        ? be.mseBackward!(yhat, target, outGrad, 1 / count, outLayer.activation, outLayer.bias.grad, false)
        : be.loss(loss, yhat, target, outGrad, 1 / count, wrtLogit);
    }
    let objective = sum / count;
    const enc0 = this.encoder[0]!;
    const q = reg.contractive > 0 ? rowNormsSquared(enc0.weight.valueMatrix) : null;
    if (q) objective += (reg.contractive * contractiveSum(ws.outs[0]!, q, enc0.activation)) / batch;
    if (reg.sparse > 0) objective += (reg.sparse * l1Sum(ws.outs[code]!)) / batch;
    for (const p of this.params) p.gradWritten = false;
    for (let l = last; l >= 0; l--) {
      const layer = layers[l]!;
      const g = ws.grads[l]!;
      const x = l === 0 ? input : ws.outs[l - 1]!;
      if (l === code && reg.sparse > 0) addL1Grad(ws.outs[code]!, reg.sparse / batch, g);
      const derivative = !(l === last && wrtLogit);
      const contractive = l === 0 && q !== null;
      if (l === last && fusedOutput) {
        // done above, by denseMseBackward or mseBackward
      } else if (derivative && !contractive && this.backend.activationBackwardSumRows) {
        this.backend.activationBackwardSumRows(g, ws.outs[l]!, layer.activation, layer.bias.grad, layer.bias.gradWritten);
      } else {
        if (derivative) this.backend.activationBackward(g, ws.outs[l]!, layer.activation);
        if (contractive) addContractiveGradZ(ws.outs[0]!, q!, layer.activation, reg.contractive / batch, g);
        this.backend.sumRows(g, layer.bias.grad, layer.bias.gradWritten);
      }
      layer.bias.gradWritten = true;
      const w = layer.weight;
      // dW = gᵀx for W stored [out,in]; a tied layer's W is stored [in,out], so it gets xᵀg.
      if (layer.transposed) this.backend.matmul(x, true, g, false, w.gradMatrix, w.gradWritten ? 1 : 0);
      else this.backend.matmul(g, true, x, false, w.gradMatrix, w.gradWritten ? 1 : 0);
      w.gradWritten = true;
      if (l === 0 && q) addContractiveGradW(ws.outs[0]!, w.valueMatrix, layer.activation, reg.contractive / batch, w.gradMatrix);
      if (l > 0) this.backend.matmul(g, false, w.valueMatrix, layer.transposed, ws.grads[l - 1]!, 0);
    }
    return objective;
  }

  /** The training objective on a batch without gradients: mean reconstruction loss plus penalties. */
  objective(input: Matrix, target: Matrix, loss: LossName, reg: Regularization = NO_REGULARIZATION): number {
    const yhat = this.run(input, 0, this.layers.length);
    let value = this.backend.loss(loss, yhat, target, null, 0, false) / (yhat.rows * yhat.cols);
    const ws = this.workspace(input.rows);
    if (reg.contractive > 0) {
      checkContractiveDepth(this.encoder.length, this.config.layers);
      const enc0 = this.encoder[0]!;
      value += (reg.contractive * contractiveSum(ws.outs[0]!, rowNormsSquared(enc0.weight.valueMatrix), enc0.activation)) / input.rows;
    }
    if (reg.sparse > 0) value += (reg.sparse * l1Sum(ws.outs[this.encoder.length - 1]!)) / input.rows;
    return value;
  }

  /** ‖∂h/∂x‖_F for each row of x, in closed form (one-layer encoders). */
  jacobianNorms(x: Matrix): Float64Array {
    checkContractiveDepth(this.encoder.length, this.config.layers);
    const enc0 = this.encoder[0]!;
    const h = this.encode(x);
    return jacobianNorms(h, rowNormsSquared(enc0.weight.valueMatrix), enc0.activation);
  }

  /**
   * Backpropagation through the decoder alone, for searches in code space (energy
   * minimisation): decodes the codes z, lets `outputGrad` write ∂E/∂x̂ for each decoded row
   * into `grad` and return E, then writes ∂E/∂z into gradZ. Parameter gradients are untouched.
   */
  decoderBackward(z: Matrix, outputGrad: (xhat: Matrix, grad: Matrix) => number, gradZ: Matrix): number {
    this.checkInput(z, this.codeSize, 'code');
    if (gradZ.rows !== z.rows || gradZ.cols !== z.cols) throw new ValidationError(expected('code gradient', `${z.rows}x${z.cols}`, `${gradZ.rows}x${gradZ.cols}`));
    const first = this.encoder.length;
    const layers = this.layers;
    const last = layers.length - 1;
    const ws = this.workspace(z.rows);
    const xhat = this.run(z, first, layers.length);
    const energy = outputGrad(xhat, ws.grads[last]!);
    for (let l = last; l >= first; l--) {
      const layer = layers[l]!;
      const g = ws.grads[l]!;
      this.backend.activationBackward(g, ws.outs[l]!, layer.activation);
      this.backend.matmul(g, false, layer.weight.valueMatrix, layer.transposed, l > first ? ws.grads[l - 1]! : gradZ, 0);
    }
    return energy;
  }

  /** Σ of the per-element loss of the reconstruction against target, without gradients (for evaluation). */
  lossSum(input: Matrix, target: Matrix, loss: LossName): number {
    const yhat = this.run(input, 0, this.layers.length);
    return this.backend.loss(loss, yhat, target, null, 0, false);
  }

  /** Applies layers[from..to) over x in chunks, into a fresh matrix. */
  private map(x: Matrix, from: number, to: number, inSize: number, outSize: number, what: string, chunk = 1000): Matrix {
    this.checkInput(x, inSize, what);
    const out = matrix(x.rows, outSize);
    for (let start = 0; start < x.rows; start += chunk) {
      const end = Math.min(x.rows, start + chunk);
      const y = this.run(rowSlice(x, start, end), from, to);
      out.data.set(y.data, start * outSize);
    }
    return out;
  }

  /** The code h for each row of x (scaled input). */
  encode(x: Matrix): Matrix {
    return this.map(x, 0, this.encoder.length, this.inputSize, this.codeSize, 'encode input');
  }

  /** x̂ for each code row. */
  decode(h: Matrix): Matrix {
    const n = this.encoder.length;
    return this.map(h, n, 2 * n, this.codeSize, this.inputSize, 'decode input');
  }

  /** decoder(encoder(x)) for each row of x. */
  reconstruct(x: Matrix): Matrix {
    return this.map(x, 0, this.layers.length, this.inputSize, this.inputSize, 'reconstruct input');
  }

  /** Copies every parameter's values from another model of the same architecture. */
  copyFrom(other: Autoencoder): void {
    this.params.forEach((p, i) => p.value.set(other.params[i]!.value));
  }
}
