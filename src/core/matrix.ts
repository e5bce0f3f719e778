import { ValidationError, expected } from './errors.js';

/**
 * A dense row-major float32 matrix. `data` holds exactly rows*cols values.
 * Kernels read and write `data` in place, so a native backend can use the same
 * memory without copying.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  if (!Number.isInteger(rows) || rows < 0) throw new ValidationError(expected('matrix rows', 'a non-negative integer', rows));
  if (!Number.isInteger(cols) || cols < 0) throw new ValidationError(expected('matrix cols', 'a non-negative integer', cols));
  if (data === undefined) return { rows, cols, data: new Float32Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new ValidationError(expected(`matrix data for ${rows}x${cols}`, `${rows * cols} values`, data.length));
  }
  return { rows, cols, data };
}

/** A view of the first `rows` rows, sharing memory. */
export function topRows(m: Matrix, rows: number): Matrix {
  if (rows === m.rows) return m;
  if (rows > m.rows) throw new ValidationError(expected('topRows', `at most ${m.rows} rows`, rows));
  return { rows, cols: m.cols, data: m.data.subarray(0, rows * m.cols) };
}

/** A view of rows [start, end), sharing memory. */
export function rowSlice(m: Matrix, start: number, end: number): Matrix {
  return { rows: end - start, cols: m.cols, data: m.data.subarray(start * m.cols, end * m.cols) };
}

export function transpose(m: Matrix): Matrix {
  const out = new Float32Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) out[j * m.rows + i] = m.data[i * m.cols + j]!;
  }
  return { rows: m.cols, cols: m.rows, data: out };
}

/** Copies the given rows of `src` into the first rows of `dst` (a mini-batch gather). */
export function gatherRows(src: Matrix, indices: ArrayLike<number>, start: number, count: number, dst: Matrix): Matrix {
  const cols = src.cols;
  for (let r = 0; r < count; r++) {
    const i = indices[start + r]!;
    dst.data.set(src.data.subarray(i * cols, (i + 1) * cols), r * cols);
  }
  return topRows(dst, count);
}
