import { existsSync, statSync } from 'node:fs';
import { resolveBackend } from '../backends/index.js';
import type { Backend } from '../core/backend.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { loadModel, type LoadedModel } from '../io/model-file.js';
import { UsageError } from './exit.js';
import { intFlag } from './options.js';

/** Resolves --backend (auto's fallback to js is announced by main's warning before the command runs). */
export function backendFrom(choice: string): Backend {
  return resolveBackend(choice).backend;
}

export function loadModelFlag(path: string, backendChoice: string): LoadedModel {
  return loadModel(path, backendFrom(backendChoice));
}

/**
 * The data a saved model is evaluated on: --data if given, else the source it was trained
 * on when that is MNIST. A CSV-trained model needs --data.
 */
export function evalData(loaded: LoadedModel, dataFlag: string | undefined, limitFlag: string | undefined): Dataset {
  const trainedOn = (loaded.config.training.data as { source?: unknown } | undefined)?.source;
  const source = dataFlag ?? (trainedOn === 'mnist' ? 'mnist' : undefined);
  if (source === undefined) throw new UsageError(`--data: expected mnist or a CSV path (the model was trained on ${String(trainedOn ?? 'unknown data')}), received nothing`);
  const limit = limitFlag === undefined ? undefined : intFlag('--limit', limitFlag);
  // For a CSV, evaluation rows are the file given; for MNIST, the test set.
  const data = loadDataset(source, limit === undefined ? {} : { limit });
  const width = loaded.model.inputSize;
  const cols = data.train.cols;
  if (cols !== width) throw new UsageError(`--data width: expected ${width} values per row to match the model, received ${cols}`);
  return source === 'mnist' ? data : { ...data, test: data.train };
}

/** Refuses a path that is an existing directory (for file outputs). */
export function checkFileOutput(flag: string, path: string, ext: string): void {
  if (!path.toLowerCase().endsWith(ext)) throw new UsageError(`${flag}: expected a path ending in ${ext}, received "${path}"`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag}: expected a file path, received the directory "${path}"`);
}
