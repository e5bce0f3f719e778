import { ValidationError, expected } from '../core/errors.js';

/**
 * Learning-rate schedules, epoch by epoch, as PyTorch's torch.optim.lr_scheduler steps them
 * once per epoch (epoch e is 1-based here; PyTorch's last_epoch is e − 1):
 *
 *   step:N[:gamma]           StepLR          lr = base · gamma^floor((e−1)/N)          gamma 0.1
 *   exponential:gamma        ExponentialLR   lr = base · gamma^(e−1)
 *   cosine[:eta_min]         CosineAnnealingLR with T_max = the run's epochs:
 *                            lr = eta_min + (base − eta_min)(1 + cos(π (e−1)/T_max)) / 2   eta_min 0
 *   plateau[:factor[:patience]]  ReduceLROnPlateau (mode min, threshold 1e-4 relative,
 *                            cooldown 0, min_lr 0): after an epoch whose monitored loss is not
 *                            below best·(1 − 1e-4), a bad epoch is counted; more than
 *                            `patience` bad epochs in a row multiply lr by `factor` and reset
 *                            the count. A NaN is a bad epoch. factor 0.1, patience 10.
 */
export const LR_SCHEDULES = ['step', 'exponential', 'cosine', 'plateau'] as const;
export type LrScheduleKind = (typeof LR_SCHEDULES)[number];

export interface LrScheduler {
  /** The spec, normalised with every parameter written out (recorded in the model config). */
  readonly spec: string;
  /** The learning rate for epoch `epoch` (1-based), set before the epoch runs. */
  lrFor(epoch: number): number;
  /** After an epoch: the monitored loss (test loss, else training loss); only plateau uses it. */
  observe(value: number): void;
  /** The scheduler's own state (plateau: lr, best, bad epochs; others: none), for checkpoints. */
  getState(): number[];
  setState(state: readonly number[]): void;
}

const STATELESS = { getState: (): number[] => [], setState: (): void => {} };

const RULE = 'step:N[:gamma], exponential:gamma, cosine[:eta_min] or plateau[:factor[:patience]]';

function num(spec: string, text: string | undefined, what: string, ok: (v: number) => boolean, rule: string): number {
  const v = text === undefined || text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(v) || !ok(v)) throw new ValidationError(expected(`lr schedule ${spec} ${what}`, rule, text ?? 'nothing'));
  return v;
}

/**
 * Parses a schedule spec (see LR_SCHEDULES) for a run of `epochs` epochs from `baseLr`.
 * Throws ValidationError, one line, for an unknown kind or a parameter out of its range.
 */
export function parseLrSchedule(spec: string, baseLr: number, epochs: number): LrScheduler {
  const [kind, ...args] = spec.split(':');
  const tooMany = (n: number) => {
    if (args.length > n) throw new ValidationError(expected('lr schedule', `${RULE} (at most ${n} parameter${n === 1 ? '' : 's'} for ${kind})`, spec));
  };
  switch (kind) {
    case 'step': {
      tooMany(2);
      const size = num(spec, args[0], 'step size N', (v) => Number.isInteger(v) && v >= 1, 'a positive integer of epochs');
      const gamma = args[1] === undefined ? 0.1 : num(spec, args[1], 'gamma', (v) => v > 0, 'a number > 0');
      return { spec: `step:${size}:${gamma}`, lrFor: (e) => baseLr * gamma ** Math.floor((e - 1) / size), observe: () => {}, ...STATELESS };
    }
    case 'exponential': {
      tooMany(1);
      const gamma = num(spec, args[0], 'gamma', (v) => v > 0, 'a number > 0');
      return { spec: `exponential:${gamma}`, lrFor: (e) => baseLr * gamma ** (e - 1), observe: () => {}, ...STATELESS };
    }
    case 'cosine': {
      tooMany(1);
      const etaMin = args[0] === undefined ? 0 : num(spec, args[0], 'eta_min', (v) => v >= 0 && v <= baseLr, `a number in [0, ${baseLr}] (the base lr)`);
      const tMax = Math.max(1, epochs);
      return { spec: `cosine:${etaMin}`, lrFor: (e) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * (e - 1)) / tMax))) / 2, observe: () => {}, ...STATELESS };
    }
    case 'plateau': {
      tooMany(2);
      const factor = args[0] === undefined ? 0.1 : num(spec, args[0], 'factor', (v) => v > 0 && v < 1, 'a number in (0, 1)');
      const patience = args[1] === undefined ? 10 : num(spec, args[1], 'patience', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
      let lr = baseLr;
      let best = Infinity;
      let bad = 0;
      return {
        spec: `plateau:${factor}:${patience}`,
        lrFor: () => lr,
        observe(value: number) {
          if (value < best * (1 - 1e-4)) {
            best = value;
            bad = 0;
          } else {
            bad++; // NaN lands here: never an improvement
          }
          if (bad > patience) {
            lr *= factor;
            bad = 0;
          }
        },
        getState: () => [lr, best, bad],
        setState(st: readonly number[]) {
          if (st.length !== 3) throw new ValidationError(expected('plateau schedule state', '[lr, best, bad epochs]', st));
          [lr, best, bad] = st as [number, number, number];
        },
      };
    }
    default:
      throw new ValidationError(expected('lr schedule', RULE, spec));
  }
}

/**
 * Early stopping as Keras's EarlyStopping: an epoch improves when its monitored loss is below
 * the best so far by more than `minDelta`; after `patience` epochs in a row without
 * improvement, training stops. A NaN never counts as best. Unlike Keras (whose
 * restore_best_weights defaults to false, and restores only when it stops), the best epoch's
 * weights are restored by default, at the stop or at the end of the run.
 */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping (Keras' patience). */
  patience: number;
  /** The least decrease that counts as an improvement (Keras' min_delta), >= 0. Default 0. */
  minDelta?: number;
  /** 'val_loss' (the test or held-out loss, Keras' default) or 'loss' (the training loss). */
  monitor?: 'val_loss' | 'loss';
  /** Put the best epoch's weights back when training ends. Default true. */
  restoreBestWeights?: boolean;
}

export const MONITORS = ['val_loss', 'loss'] as const;

/** Checks EarlyStoppingOptions; throws ValidationError naming the field. */
export function checkEarlyStopping(o: EarlyStoppingOptions): Required<EarlyStoppingOptions> {
  if (!Number.isInteger(o.patience) || o.patience < 0) throw new ValidationError(expected('early stopping patience', 'an integer >= 0', o.patience));
  const minDelta = o.minDelta ?? 0;
  if (!Number.isFinite(minDelta) || minDelta < 0) throw new ValidationError(expected('early stopping min delta', 'a number >= 0', minDelta));
  const monitor = o.monitor ?? 'val_loss';
  if (!(MONITORS as readonly string[]).includes(monitor)) throw new ValidationError(expected('early stopping monitor', 'val_loss or loss', monitor));
  return { patience: o.patience, minDelta, monitor, restoreBestWeights: o.restoreBestWeights ?? true };
}

/** The decision part of early stopping, apart from weights, so it can be tested on a made-up loss sequence. */
export class EarlyStopper {
  best = Infinity;
  bestEpoch = 0;
  private wait = 0;
  constructor(readonly opts: Required<EarlyStoppingOptions>) {}

  /** Records an epoch's monitored loss; returns whether it is the new best. */
  improved(epoch: number, value: number): boolean {
    if (Number.isFinite(value) && value < this.best - this.opts.minDelta) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      return true;
    }
    this.wait++;
    return false;
  }

  /** Whether training should stop now: after a non-improving epoch, when `patience` have passed in a row (Keras: wait >= patience). */
  get shouldStop(): boolean {
    return this.wait > 0 && this.wait >= this.opts.patience;
  }

  /** [best, bestEpoch, wait], for a checkpoint. */
  getState(): number[] {
    return [this.best, this.bestEpoch, this.wait];
  }

  /** Puts back a state from getState; throws ValidationError for one of another shape. */
  setState(state: readonly number[]): void {
    const [best, bestEpoch, wait] = state;
    if (state.length !== 3 || !Number.isInteger(bestEpoch) || !Number.isInteger(wait) || typeof best !== 'number') {
      throw new ValidationError(expected('early stopping state', '[best, bestEpoch, wait]', JSON.stringify(state)));
    }
    this.best = Number.isNaN(best) ? Infinity : best;
    this.bestEpoch = bestEpoch!;
    this.wait = wait!;
  }
}
