// IEEE half and bfloat16 <-> float32 (no Float16Array in Node 20). Scalar functions for clarity and tests; array
// versions work on the float32 bit patterns directly, as converting a 7B checkpoint touches billions of values.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsOf(value: number): number {
  f32[0] = value;
  return u32[0];
}

export function bf16ToF32(bits: number): number {
  u32[0] = bits << 16; // bfloat16 is the top half of a float32: exact
  return f32[0];
}

/** float32 bits -> bfloat16 bits, round to nearest even (as torch does); NaN stays NaN. */
function bf16FromBits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f32ToBf16(value: number): number {
  return bf16FromBits(bitsOf(value));
}

export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // subnormal
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** float32 bits -> float16 bits, round to nearest even; overflow goes to infinity. */
function f16FromBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && result & 1)) result++;
    return sign | result;
  }
  const rest = mantissa & 0x1fff;
  mantissa >>>= 13;
  if (rest > 0x1000 || (rest === 0x1000 && mantissa & 1)) {
    mantissa++;
    if (mantissa === 0x400) {
      mantissa = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | mantissa;
}

export function f32ToF16(value: number): number {
  return f16FromBits(bitsOf(value));
}

export type HalfKind = 'F16' | 'BF16';

let f16Table: Float32Array | undefined; // all 65536 half values, built on first use (256 KiB)

export function halvesToF32(halves: Uint16Array, kind: HalfKind): Float32Array {
  if (kind === 'BF16') {
    const bits = new Uint32Array(halves.length);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
    return new Float32Array(bits.buffer);
  }
  const table = (f16Table ??= Float32Array.from({ length: 65536 }, (_, h) => f16ToF32(h)));
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}

export function f32ToHalves(values: Float32Array, kind: HalfKind): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  const convert = kind === 'BF16' ? bf16FromBits : f16FromBits;
  for (let i = 0; i < values.length; i++) out[i] = convert(bits[i]);
  return out;
}
