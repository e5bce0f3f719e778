import { resolveBackend } from '../backends/index.js';
import type { Backend } from '../core/backend.js';
import type { Dataset } from '../data/dataset.js';
import { evalDataset, trainingRecord, type EvalSource } from '../data/recorded.js';
import { readOptionsFrom, type ReadFlags } from './data-flags.js';
import { loadModel, type LoadedModel } from '../io/model-file.js';
import type { InputPath } from '../io/output-check.js';
import { intFlag } from './options.js';

/** Resolves --backend (auto's fallback to js is announced by main's warning before the command runs). */
export function backendFrom(choice: string): Backend {
  return resolveBackend(choice).backend;
}

export function loadModelFlag(path: string, backendChoice: string): LoadedModel {
  return loadModel(path, backendFrom(backendChoice));
}

export { trainingRecord, readOptionsFor, matchColumns, checkRecord, modelImage, type EvalSource } from '../data/recorded.js';

/** evalDataset with the flags as given: --limit checked here, the read flags turned into options. */
export async function evalData(
  loaded: LoadedModel,
  dataFlag: string | undefined,
  limitFlag: string | number | undefined,
  read: ReadFlags = {},
  flag = '--data',
): Promise<Dataset & { evalSource: EvalSource }> {
  const limit = typeof limitFlag === 'string' ? intFlag('--limit', limitFlag) : limitFlag;
  return evalDataset(loaded, dataFlag, limit, readOptionsFrom(read), flag);
}

/** The data a model records it was trained (and tested) on, as inputs for checkInputs when a command reads it (no --data given). */
export function recordedInputs(loaded: LoadedModel): InputPath[] {
  const { record, testRecord } = trainingRecord(loaded);
  return [
    { flag: "--model's training data", path: record?.path },
    { flag: "--model's test data", path: testRecord?.path },
  ];
}
