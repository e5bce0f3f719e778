import { createRequire } from 'node:module';
import { BackendError, ValidationError, expected } from '../core/errors.js';
import { check } from '../core/validate.js';

/**
 * OpenCV's classical inpainting as a baseline for masked reconstruction, from the npm
 * package `opencv-wasm` (OpenCV 4.3.0 compiled to WebAssembly; `cv.inpaint` is the same
 * C++ code as Python's cv2.inpaint). The .wasm file ships inside the package and is read
 * from disk: nothing is downloaded at run time.
 */

/** `telea`: cv.INPAINT_TELEA (fast marching, Telea 2004); `ns`: cv.INPAINT_NS (Navier-Stokes, Bertalmio 2001). */
export type InpaintMethod = 'telea' | 'ns';

export const INPAINT_METHODS: readonly InpaintMethod[] = ['telea', 'ns'];

/** The few members of an OpenCV.js `cv.Mat` this module uses. */
export interface CvMat {
  readonly rows: number;
  readonly cols: number;
  /** A view into the WASM heap; valid only until the heap grows or the Mat is deleted. */
  readonly data: Uint8Array;
  type(): number;
  isContinuous(): boolean;
  delete(): void;
}

/** The few members of the OpenCV.js module this module uses (the package types them all as `any`). */
export interface OpenCv {
  readonly CV_8UC1: number;
  readonly INPAINT_TELEA: number;
  readonly INPAINT_NS: number;
  /** The whole WASM heap; its length is the heap size. */
  readonly HEAPU8: Uint8Array;
  readonly HEAP32: Int32Array;
  readonly Mat: new (...args: number[]) => CvMat;
  inpaint(src: CvMat, mask: CvMat, dst: CvMat, inpaintRadius: number, flags: number): void;
  exceptionFromPtr(ptr: number): { msg: string };
  /** Address of the word holding the heap's program break (the top of sbrk'd memory). */
  _emscripten_get_sbrk_ptr(): number;
}

let loading: Promise<OpenCv> | undefined;

/**
 * Loads OpenCV once per process; later calls return the same promise.
 *
 * opencv-wasm is CommonJS and initialises synchronously on require (it reads and compiles
 * opencv.wasm, about 7 MB, with `new WebAssembly.Module`): ~150 ms. Two things are fixed up:
 * - the Emscripten module object has a `then` method, so resolving a promise with it would
 *   never settle (each `then` hands back the same thenable); it is removed once the runtime
 *   is up;
 * - Emscripten's Node glue adds process-wide `uncaughtException` and `unhandledRejection`
 *   listeners (the latter aborts the WASM runtime); the listeners it added are removed.
 */
export async function loadOpenCv(): Promise<OpenCv> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined; // let a later call try again
    throw err;
  });
  return loading;
}

async function load(): Promise<OpenCv> {
  const beforeException = process.listeners('uncaughtException');
  const beforeRejection = process.listeners('unhandledRejection');
  let mod: { cv?: unknown };
  try {
    mod = createRequire(import.meta.url)('opencv-wasm') as { cv?: unknown };
  } catch (err) {
    throw new BackendError(`opencv-wasm: could not be loaded (npm install opencv-wasm@4.3.0-10): ${(err as Error).message}`);
  } finally {
    for (const listener of process.listeners('uncaughtException')) {
      if (!beforeException.includes(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!beforeRejection.includes(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
  const cv = mod.cv as (OpenCv & { calledRun?: boolean; then?: (f: () => void) => unknown }) | undefined;
  if (typeof cv !== 'object' || cv === null) {
    throw new BackendError(expected('opencv-wasm', 'a module exporting { cv }', typeof cv));
  }
  if (!cv.calledRun && typeof cv.then === 'function') {
    const then = cv.then.bind(cv);
    await new Promise<void>((resolve) => {
      then(() => resolve());
    });
  }
  delete cv.then;
  for (const name of ['inpaint', 'Mat', 'exceptionFromPtr', '_emscripten_get_sbrk_ptr'] as const) {
    if (typeof cv[name] !== 'function') throw new BackendError(expected(`opencv-wasm cv.${name}`, 'a function', typeof cv[name]));
  }
  for (const name of ['CV_8UC1', 'INPAINT_TELEA', 'INPAINT_NS'] as const) {
    if (typeof cv[name] !== 'number') throw new BackendError(expected(`opencv-wasm cv.${name}`, 'a number', cv[name]));
  }
  return cv as OpenCv;
}

function methodFlag(cv: OpenCv, method: InpaintMethod): number {
  return method === 'telea' ? cv.INPAINT_TELEA : cv.INPAINT_NS;
}

function checkCv(cv: unknown): asserts cv is OpenCv {
  const ok = typeof cv === 'object' && cv !== null && typeof (cv as Partial<OpenCv>).inpaint === 'function' && typeof (cv as Partial<OpenCv>).Mat === 'function';
  if (!ok) throw new ValidationError(expected('cv', 'the OpenCV module from loadOpenCv()', cv === null || typeof cv !== 'object' ? cv : typeof cv));
}

function checkShape(width: unknown, height: unknown, method: unknown, radius: unknown): void {
  check('width', width, { kind: 'int', min: 1 });
  check('height', height, { kind: 'int', min: 1 });
  check('method', method, { kind: 'oneOf', choices: INPAINT_METHODS });
  check('radius', radius, { kind: 'number', min: 0, minExclusive: true });
}

function checkPlane(name: string, value: unknown, size: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    const kind = value === null || value === undefined ? value : ((value as object).constructor?.name ?? typeof value);
    throw new ValidationError(expected(name, 'a Uint8Array', kind));
  }
  if (value.length !== size) throw new ValidationError(expected(`${name}.length`, `width*height = ${size}`, value.length));
}

/** The work, after validation. Every Mat is deleted, whatever happens, so the WASM heap does not leak. */
function run(cv: OpenCv, image: Uint8Array, mask: Uint8Array, width: number, height: number, flag: number, radius: number): Uint8Array {
  const size = width * height;
  let src: CvMat | undefined;
  let msk: CvMat | undefined;
  let dst: CvMat | undefined;
  try {
    src = new cv.Mat(height, width, cv.CV_8UC1);
    src.data.set(image);
    msk = new cv.Mat(height, width, cv.CV_8UC1);
    msk.data.set(mask);
    dst = new cv.Mat();
    try {
      // If OpenCV throws, this build cannot unwind C++, so that call's own temporaries stay on
      // the heap; with validated arguments it does not throw.
      cv.inpaint(src, msk, dst, radius, flag);
    } catch (err) {
      // OpenCV.js throws a C++ exception as the number of its pointer.
      const msg = typeof err === 'number' ? cv.exceptionFromPtr(err).msg : (err as Error).message;
      throw new BackendError(`cv.inpaint: ${String(msg).trim().replace(/\s*\n\s*/g, ' ')}`);
    }
    if (dst.rows !== height || dst.cols !== width || dst.type() !== cv.CV_8UC1 || !dst.isContinuous()) {
      throw new BackendError(expected('cv.inpaint output', `a continuous ${height}x${width} CV_8UC1 Mat`, `${dst.rows}x${dst.cols} type ${dst.type()}`));
    }
    return dst.data.slice(0, size); // a copy, off the WASM heap
  } finally {
    src?.delete();
    msk?.delete();
    dst?.delete();
  }
}

/**
 * Inpaints one 8-bit single-channel image with cv.inpaint.
 * @param cv the module from {@link loadOpenCv}
 * @param image width*height bytes, row-major
 * @param mask width*height bytes; non-zero marks a pixel to fill
 * @param radius the neighbourhood radius, in pixels (OpenCV rounds it and clamps it to [1, 100])
 * @returns the inpainted image, a new Uint8Array; pixels outside the mask are the input's
 */
export function inpaint(
  cv: OpenCv,
  image: Uint8Array,
  mask: Uint8Array,
  width: number,
  height: number,
  method: InpaintMethod,
  radius = 3,
): Uint8Array {
  checkCv(cv);
  checkShape(width, height, method, radius);
  checkPlane('image', image, width * height);
  checkPlane('mask', mask, width * height);
  return run(cv, image, mask, width, height, methodFlag(cv, method), radius);
}

/** Inpaints images[i] under masks[i] for every i, loading OpenCV if needed. All arguments are checked before any work. */
export async function inpaintBatch(
  images: Uint8Array[],
  masks: Uint8Array[],
  width: number,
  height: number,
  method: InpaintMethod,
  radius = 3,
): Promise<Uint8Array[]> {
  if (!Array.isArray(images)) throw new ValidationError(expected('images', 'an array of Uint8Array', typeof images));
  if (!Array.isArray(masks)) throw new ValidationError(expected('masks', 'an array of Uint8Array', typeof masks));
  if (masks.length !== images.length) throw new ValidationError(expected('masks.length', `images.length = ${images.length}`, masks.length));
  checkShape(width, height, method, radius);
  const size = width * height;
  images.forEach((image, i) => checkPlane(`images[${i}]`, image, size));
  masks.forEach((mask, i) => checkPlane(`masks[${i}]`, mask, size));
  const cv = await loadOpenCv();
  const flag = methodFlag(cv, method);
  return images.map((image, i) => run(cv, image, masks[i]!, width, height, flag, radius));
}

/** The WASM heap's program break, in bytes: it only moves up, so leaked allocations show as growth. */
export function heapBreak(cv: OpenCv): number {
  return cv.HEAP32[cv._emscripten_get_sbrk_ptr() >> 2]!;
}
