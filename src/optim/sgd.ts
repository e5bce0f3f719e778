import type { Backend, SgdStep } from '../core/backend.js';
import { check } from '../core/validate.js';
import type { Param } from '../nn/dense.js';
import { ValidationError, expected } from '../core/errors.js';
import type { Optimizer, OptimizerState } from './optimizer.js';

export interface SgdOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** torch.optim.SGD: with momentum the first step seeds the buffer with the gradient itself. */
export class Sgd implements Optimizer {
  readonly name = 'sgd';
  private readonly velocity: Float32Array[];
  private readonly h: SgdStep;

  constructor(private readonly params: Param[], opts: SgdOptions = {}) {
    this.h = {
      lr: check('lr', opts.lr ?? 1e-2, { kind: 'number', min: 0, minExclusive: true }),
      momentum: check('momentum', opts.momentum ?? 0.9, { kind: 'number', min: 0, max: 1, maxExclusive: true }),
      dampening: check('dampening', opts.dampening ?? 0, { kind: 'number', min: 0, max: 1 }),
      nesterov: check('nesterov', opts.nesterov ?? false, { kind: 'boolean' }),
      weightDecay: check('weightDecay', opts.weightDecay ?? 0, { kind: 'number', min: 0 }),
      first: true,
    };
    this.velocity = params.map((p) => new Float32Array(p.value.length));
  }

  get lr(): number {
    return this.h.lr;
  }

  set lr(value: number) {
    this.h.lr = check('lr', value, { kind: 'number', min: 0, minExclusive: true });
  }

  getState(opts: { views?: boolean } = {}): OptimizerState {
    return { name: this.name, scalars: { first: this.h.first ? 1 : 0, lr: this.h.lr }, buffers: opts.views ? [...this.velocity] : this.velocity.map((b) => b.slice()) };
  }

  setState(state: OptimizerState): void {
    const ok = state.name === this.name && state.buffers.length === this.velocity.length && state.buffers.every((b, i) => b.length === this.velocity[i]!.length);
    if (!ok) throw new ValidationError(expected('SGD state', `${this.velocity.length} velocity buffers of this model's shapes`, `${state.name} with ${state.buffers.length} buffers`));
    state.buffers.forEach((b, i) => this.velocity[i]!.set(b));
    this.h.first = state.scalars.first === 1;
    this.lr = state.scalars.lr!;
  }

  step(backend: Backend): boolean {
    let finite = true;
    this.params.forEach((p, i) => {
      if (!backend.sgd(p.value, p.grad, this.velocity[i]!, this.h)) finite = false;
    });
    this.h.first = false;
    return finite;
  }

  describe(): Record<string, number | string | boolean> {
    const { lr, momentum, dampening, nesterov, weightDecay } = this.h;
    return { optimizer: 'sgd', lr, momentum, dampening, nesterov, weightDecay };
  }
}
