import { ModelFormatError } from '../core/errors.js';
import { readSafetensorsFile, writeSafetensorsFile, type TensorInput } from '../io/safetensors.js';
import { MAX_JSON_STRUCTURES, structuresIn } from '../io/json-scan.js';
import type { TrainingRun } from './recipe.js';

/**
 * A training checkpoint: everything beyond the weights that the next epoch depends on, so a
 * run resumed from it takes exactly the steps the uninterrupted run would have taken.
 *
 * It is a safetensors file beside the model (the model file names it in its config, under
 * training.checkpoint) holding
 *   param.<i>        every trainable tensor, in Autoencoder.params order (tied weights once);
 *   optim.<i>        the optimiser's buffers (Adam's m then v, or SGD's velocity);
 *   best.<i>         with early stopping that restores the best weights: that epoch's weights;
 * and in its metadata the completed epoch, the optimiser's scalars (Adam's step, the lr), the
 * generator's state (which drives every shuffle and corruption), the schedule's state and
 * early stopping's [best loss, best epoch, epochs waited].
 * The model file itself stays the plain state_dict PyTorch loads with strict=True.
 */
export const CHECKPOINT_FORMAT = 'aekit-checkpoint/1';

export interface CheckpointState {
  epoch: number;
  optimizer: { name: string; scalars: Record<string, number> };
  rng: number[];
  schedule: number[];
  /** Early stopping's [best, bestEpoch, wait]; empty without early stopping. */
  earlyStopping: number[];
  params: Float32Array[];
  buffers: Float32Array[];
  /** The best epoch's weights (early stopping with restore-best); empty otherwise. */
  best: Float32Array[];
}

/** Writes the run's state after `epoch` completed epochs, atomically. */
export function writeCheckpoint(path: string, run: TrainingRun, epoch: number): void {
  // The optimiser's own buffers, written where they are (a copy would double its memory at every save).
  const opt = run.optimizer.getState({ views: true });
  const tensors: Array<[string, TensorInput]> = [];
  run.model.params.forEach((p, i) => tensors.push([`param.${i}`, { shape: [p.value.length], data: p.value }]));
  opt.buffers.forEach((b, i) => tensors.push([`optim.${i}`, { shape: [b.length], data: b }]));
  run.bestWeights?.forEach((b, i) => tensors.push([`best.${i}`, { shape: [b.length], data: b }]));
  // NaN (no cached normal; a plateau's best before any epoch) is not JSON: written as null.
  const meta = { format: CHECKPOINT_FORMAT, epoch, optimizer: { name: opt.name, scalars: opt.scalars }, rng: run.rng.getState(), schedule: run.lrSchedule?.getState() ?? [], earlyStopping: run.earlyStopper?.getState() ?? [] };
  writeSafetensorsFile(path, tensors, { checkpoint: JSON.stringify(meta, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? null : v > 0 ? 'Infinity' : '-Infinity') : v)) });
}

function fromJson(v: unknown): number {
  if (v === null) return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return typeof v === 'number' ? v : NaN;
}

/** Reads a checkpoint; throws ModelFormatError naming the file when it is not one. */
export function readCheckpoint(path: string): CheckpointState {
  const file = readSafetensorsFile(path);
  let meta: Record<string, unknown>;
  const text = file.metadata['checkpoint'] ?? 'null';
  if (structuresIn(text) > MAX_JSON_STRUCTURES) {
    throw new ModelFormatError(`${path}: checkpoint state: expected JSON of at most ${MAX_JSON_STRUCTURES} objects, arrays and keys, received ${structuresIn(text)}`);
  }
  try {
    meta = JSON.parse(text) as Record<string, unknown>;
  } catch {
    meta = {};
  }
  if (!meta || meta['format'] !== CHECKPOINT_FORMAT || !Number.isInteger(meta['epoch'])) {
    throw new ModelFormatError(`${path}: expected an aekit training checkpoint (${CHECKPOINT_FORMAT}), received a safetensors file without one`);
  }
  const list = (prefix: string) => {
    const out: Float32Array[] = [];
    for (let i = 0; file.tensors.has(`${prefix}.${i}`); i++) out.push(file.tensors.get(`${prefix}.${i}`)!.data);
    return out;
  };
  const opt = meta['optimizer'] as { name?: unknown; scalars?: Record<string, unknown> } | undefined;
  return {
    epoch: meta['epoch'] as number,
    optimizer: { name: String(opt?.name), scalars: Object.fromEntries(Object.entries(opt?.scalars ?? {}).map(([k, v]) => [k, fromJson(v)])) },
    rng: (Array.isArray(meta['rng']) ? meta['rng'] : []).map(fromJson),
    schedule: (Array.isArray(meta['schedule']) ? meta['schedule'] : []).map(fromJson),
    earlyStopping: (Array.isArray(meta['earlyStopping']) ? meta['earlyStopping'] : []).map(fromJson),
    params: list('param'),
    buffers: list('optim'),
    best: list('best'),
  };
}

/**
 * Puts a checkpoint's state into a freshly prepared run of the same settings: weights,
 * optimiser, generator and schedule. Returns the epoch to continue from (checkpoint + 1).
 * Throws ModelFormatError when the checkpoint does not fit the run (another architecture).
 */
export function restoreCheckpoint(run: TrainingRun, ck: CheckpointState, source: string): number {
  const params = run.model.params;
  if (ck.params.length !== params.length || ck.params.some((p, i) => p.length !== params[i]!.value.length)) {
    throw new ModelFormatError(`${source}: expected ${params.length} tensors of this model's shapes, received ${ck.params.length}`);
  }
  try {
    run.optimizer.setState({ ...ck.optimizer, buffers: ck.buffers });
    run.rng.setState(ck.rng);
    if (run.lrSchedule) run.lrSchedule.setState(ck.schedule);
    if (run.earlyStopper) {
      run.earlyStopper.setState(ck.earlyStopping);
      if (run.earlyStopper.shouldStop) throw new Error(`expected a run still training, received one that early stopping stopped after epoch ${ck.epoch} (its best epoch was ${run.earlyStopper.bestEpoch})`);
    }
    if (run.bestWeights) {
      if (ck.best.length !== params.length || ck.best.some((b, i) => b.length !== params[i]!.value.length)) throw new Error(`expected the best epoch's ${params.length} tensors, received ${ck.best.length}`);
      run.bestWeights.forEach((b, i) => b.set(ck.best[i]!));
    }
  } catch (err) {
    throw new ModelFormatError(`${source}: ${(err as Error).message}`);
  }
  params.forEach((p, i) => p.value.set(ck.params[i]!));
  return ck.epoch + 1;
}
