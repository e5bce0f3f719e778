/**
 * IEEE 754 binary16 (half precision), the one converter aekit has: safetensors F16 tensors are
 * read with halfToFloat and written with float32ToHalfBits (model files from other tools, f16
 * codes files).
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * The binary16 bits nearest to a float32 value (ties to even), subnormals included, so
 * |v| < 2^-25 becomes ±0. A finite value too large for half (magnitude 65520 and up) gives the
 * Inf bits (0x7c00 with its sign); callers decide. NaN gives the quiet NaN 0x7e00 (its sign kept).
 */
export function float32ToHalfBits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | (mant === 0 ? 0x7c00 : 0x7e00);
  const e = exp - 112; // the half's biased exponent: exp - 127 + 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: units of 2^-24. Below 2^-25 (e < -10) everything rounds to zero.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const q = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    // q + 1 may reach 0x400, which is exactly the smallest normal's bits.
    return sign | (rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q);
  }
  const r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to 0x7c00 (Inf) for the largest values.
  return sign | (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1) ? r + 1 : r);
}

/** Whether half bits are ±Inf (what float32ToHalfBits gives for a value beyond the half range). */
export function isHalfInfinity(bits: number): boolean {
  return (bits & 0x7fff) === 0x7c00;
}

/** The value of binary16 bits; every half is exactly representable as float32 (and float64). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}
