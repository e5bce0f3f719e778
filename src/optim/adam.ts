import type { AdamStep, Backend } from '../core/backend.js';
import { check } from '../core/validate.js';
import type { Param } from '../nn/dense.js';
import { ValidationError, expected } from '../core/errors.js';
import type { Optimizer, OptimizerState } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** torch.optim.Adam with PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay. */
export class Adam implements Optimizer {
  readonly name = 'adam';
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly h: AdamStep;

  constructor(private readonly params: Param[], opts: AdamOptions = {}) {
    this.h = {
      lr: check('lr', opts.lr ?? 1e-3, { kind: 'number', min: 0, minExclusive: true }),
      beta1: check('beta1', opts.beta1 ?? 0.9, { kind: 'number', min: 0, max: 1, maxExclusive: true }),
      beta2: check('beta2', opts.beta2 ?? 0.999, { kind: 'number', min: 0, max: 1, maxExclusive: true }),
      eps: check('eps', opts.eps ?? 1e-8, { kind: 'number', min: 0 }),
      weightDecay: check('weightDecay', opts.weightDecay ?? 0, { kind: 'number', min: 0 }),
      step: 0,
    };
    this.m = params.map((p) => new Float32Array(p.value.length));
    this.v = params.map((p) => new Float32Array(p.value.length));
  }

  get stepCount(): number {
    return this.h.step;
  }

  get lr(): number {
    return this.h.lr;
  }

  set lr(value: number) {
    this.h.lr = check('lr', value, { kind: 'number', min: 0, minExclusive: true });
  }

  getState(opts: { views?: boolean } = {}): OptimizerState {
    return { name: this.name, scalars: { step: this.h.step, lr: this.h.lr }, buffers: opts.views ? [...this.m, ...this.v] : [...this.m, ...this.v].map((b) => b.slice()) };
  }

  setState(state: OptimizerState): void {
    const n = this.m.length;
    const ok = state.name === this.name && state.buffers.length === 2 * n && state.buffers.every((b, i) => b.length === (i < n ? this.m[i]! : this.v[i - n]!).length);
    if (!ok || !Number.isInteger(state.scalars.step) || state.scalars.step! < 0) throw new ValidationError(expected('Adam state', `${2 * n} moment buffers of this model's shapes and a step count`, `${state.name} with ${state.buffers.length} buffers`));
    state.buffers.forEach((b, i) => (i < n ? this.m[i]! : this.v[i - n]!).set(b));
    this.h.step = state.scalars.step!;
    this.lr = state.scalars.lr!;
  }

  step(backend: Backend): boolean {
    this.h.step++;
    let finite = true;
    this.params.forEach((p, i) => {
      if (!backend.adam(p.value, p.grad, this.m[i]!, this.v[i]!, this.h)) finite = false;
    });
    return finite;
  }

  describe(): Record<string, number | string> {
    const { lr, beta1, beta2, eps, weightDecay } = this.h;
    return { optimizer: 'adam', lr, beta1, beta2, eps, weightDecay };
  }
}
