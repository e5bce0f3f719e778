import type { ActivationName, LossName } from '../core/backend.js';
import type { ScaleKind } from '../data/scaling.js';
import type { MONITORS } from '../train/schedule.js';

type Monitor = (typeof MONITORS)[number];
import { NOTEBOOK_SETTINGS, type OptimizerName, type TrainSettings, type Variant } from '../train/recipe.js';
import { UsageError } from './exit.js';
import type { ReadFlags } from './data-flags.js';

const N = NOTEBOOK_SETTINGS;

/**
 * The training flags, declared once: `ae train` and every command that trains a model
 * (`ae anomaly`) add them with train-options.ts's factories, which parse and check each value
 * as commander reads it, and turn them into settings with settingsFromFlags.
 */
export interface TrainFlags extends ReadFlags {
  data: string;
  resume?: string;
  validationSplit?: number;
  testData?: string;
  hidden?: number;
  layers?: number[];
  activation: ActivationName;
  outputActivation?: ActivationName;
  loss: LossName;
  scale?: ScaleKind;
  tied?: boolean;
  epochs?: number;
  batch?: number;
  lr: number;
  optimizer: OptimizerName;
  momentum: number;
  seed: number;
  backend: string;
  limit?: number;
  noise?: string;
  variant?: Variant;
  contractive?: number;
  sparse: number;
  weightDecay: number;
  force?: boolean;
  out?: string;
  lrSchedule?: string;
  earlyStopping?: number;
  minDelta?: number;
  monitor?: Monitor;
  restoreBest?: boolean;
}

/** Flags -> library settings; each value was checked as it was read, the whole by resolveSettings. */
export function settingsFromFlags(f: TrainFlags): Partial<TrainSettings> {
  if (f.hidden !== undefined && f.layers !== undefined) throw new UsageError('--hidden and --layers: expected one of them, received both');
  const s: Partial<TrainSettings> = {
    hidden: f.hidden ?? N.hidden,
    activation: f.activation,
    loss: f.loss,
    // BCE needs targets in [0,1], so it implies unit scaling unless told otherwise. 'standard'
    // is StandardScaler's (x − mean) / std, with a linear output layer by default.
    scale: f.scale ?? (f.loss === 'bce' ? 'unit' : 'symmetric'),
    tied: f.tied === true,
    epochs: f.epochs ?? N.epochs,
    batchSize: f.batch ?? N.batchSize,
    lr: f.lr,
    optimizer: f.optimizer,
    momentum: f.momentum,
    seed: f.seed,
    sparse: f.sparse,
    weightDecay: f.weightDecay,
  };
  if (f.layers !== undefined) s.layers = f.layers;
  if (f.variant !== undefined) s.variant = f.variant;
  if (f.noise !== undefined) s.noise = f.noise;
  if (f.contractive !== undefined) s.contractive = f.contractive;
  if (f.outputActivation !== undefined) s.outputActivation = f.outputActivation;
  if (f.lrSchedule !== undefined) s.lrSchedule = f.lrSchedule;
  if (f.earlyStopping !== undefined) {
    s.earlyStopping = { patience: f.earlyStopping, minDelta: f.minDelta ?? 0, monitor: f.monitor ?? 'val_loss', restoreBestWeights: f.restoreBest !== false };
  } else {
    const given = [f.minDelta !== undefined && '--min-delta', f.monitor !== undefined && '--monitor', f.restoreBest === false && '--no-restore-best'].filter((x): x is string => typeof x === 'string');
    if (given.length) throw new UsageError(`${given.join(', ')}: expected ${given.length === 1 ? 'it' : 'them'} with --early-stopping PATIENCE, received ${given.length === 1 ? 'it' : 'them'} without`);
  }
  return s;
}
