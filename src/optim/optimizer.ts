import type { Backend } from '../core/backend.js';

/** An optimiser computes updates from Param.grad and applies them; nothing else. */
export interface Optimizer {
  readonly name: string;
  /** The learning rate the next step uses (PyTorch's param_groups[0]['lr']); a schedule sets it between epochs. */
  lr: number;
  /** Updates every parameter; returns false if any value became NaN or Inf. */
  step(backend: Backend): boolean;
  /**
   * Everything a resumed run needs to take the next step exactly as this one would (checkpoints):
   * copies of the buffers, or with `views` the optimiser's own (no copy; valid until the next step).
   */
  getState(opts?: { views?: boolean }): OptimizerState;
  /** Restores getState's result; throws ValidationError when it is of another optimiser or shape. */
  setState(state: OptimizerState): void;
  /** Settings to record in a model file's config. */
  describe(): Record<string, number | string | boolean>;
}

/** An optimiser's state: scalars (step count, lr, …) and its per-parameter buffers, in parameter order. */
export interface OptimizerState {
  name: string;
  scalars: Record<string, number>;
  buffers: Float32Array[];
}
