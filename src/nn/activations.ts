import type { ActivationName } from '../core/backend.js';

/**
 * The activation table, scikit-learn style: each activation is its function and its
 * derivative written in terms of the function's output y, so the backward pass needs
 * only the stored outputs, never the pre-activations.
 */
export interface Activation {
  f(x: number): number;
  /** f'(x) expressed through y = f(x). */
  dfFromOutput(y: number): number;
  /** The PyTorch module that follows a Linear layer for this activation (for interop notes and scripts). */
  torchModule: string;
}

export const ACTIVATION_TABLE: Record<ActivationName, Activation> = {
  tanh: { f: Math.tanh, dfFromOutput: (y) => 1 - y * y, torchModule: 'nn.Tanh()' },
  sigmoid: {
    // Split on the sign so exp never overflows.
    f: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
    dfFromOutput: (y) => y * (1 - y),
    torchModule: 'nn.Sigmoid()',
  },
  // Math.max keeps NaN, as torch.relu does, so a diverging run is not masked.
  relu: { f: (x) => Math.max(x, 0), dfFromOutput: (y) => (y > 0 ? 1 : 0), torchModule: 'nn.ReLU()' },
  linear: { f: (x) => x, dfFromOutput: () => 1, torchModule: 'nn.Identity()' },
};
