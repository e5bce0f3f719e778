import type { Backend } from '../core/backend.js';

/** An optimiser computes updates from Param.grad and applies them; nothing else. */
export interface Optimizer {
  readonly name: string;
  /** The learning rate the next step uses (PyTorch's param_groups[0]['lr']); a schedule sets it between epochs. */
  lr: number;
  /** Updates every parameter; returns false if any value became NaN or Inf. */
  step(backend: Backend): boolean;
  /** Settings to record in a model file's config. */
  describe(): Record<string, number | string | boolean>;
}
