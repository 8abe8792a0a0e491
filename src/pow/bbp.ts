/**
 * Hexadecimal digits of π at any position, without computing the ones before it:
 * the Bailey–Borwein–Plouffe digit-extraction formula
 *
 *     π = Σ_k 16^-k · (4/(8k+1) − 2/(8k+4) − 1/(8k+5) − 1/(8k+6)).
 *
 * **Positions are 1-based after the hexadecimal point**: π = 3.243F6A88…₁₆, so
 * position 1 is `2`, position 2 is `4`, and `piHexDigits(1, 16)` is `243F6A8885A308D3`.
 *
 * **Exact arithmetic, no floating-point guesswork.** The classic BBP program sums
 * doubles and trusts ~9 digits; here every term is an exact integer computation:
 *
 * - `16^e mod m` by square-and-multiply on integers below 2^26, whose products stay
 *   below 2^52 and are therefore exact in IEEE doubles (`%` on doubles is exact too);
 * - each fraction `r/m` becomes the 72-bit fixed-point integer ⌊r·2^72/m⌋ by exact
 *   long division in three 24-bit limbs (limb sums stay far below 2^53);
 * - the truncation error of the whole sum is then *known* (< 1 unit in the last
 *   place per term), and the result is accepted only when that error cannot change
 *   the 32 bits returned. In the rare case it could, the same sum is redone with
 *   BigInt fixed point at 128, 256, … bits until the digits are certain.
 *
 * So the digits are correct by construction, not "correct with high probability";
 * the tests compare them with an independent BigInt computation of π (Machin's formula).
 * @packageDocumentation
 */
import { KpcError } from '../errors.js';

/**
 * Largest position {@link piHexDigits} accepts. The moduli 8k+j stay below 2^26, which
 * keeps every modular product exact in a double. (Cost grows as n·log n: about a
 * second at 2^20 — proof-of-π itself uses positions ≤ {@link POW_POSITION_RANGE}.)
 */
export const MAX_PI_POSITION = 2 ** 22;

/** Digits one BBP evaluation yields with the 72-bit fast path. */
const DIGITS_PER_EVAL = 8;
const LIMB = 2 ** 24;
const HEX = '0123456789ABCDEF';

function badPosition(message: string, detail: Record<string, unknown>): KpcError {
  return new KpcError('POW_BAD_PARAMS', message, detail);
}

/**
 * 16^e mod m for integers e ≥ 0 and 1 ≤ m < 2^26, by right-to-left square-and-multiply.
 * Every product is below 2^52, hence exact in a double, and `%` on doubles is exact.
 * (Tried: quotient estimation with a precomputed 1/m. It was slower in V8, which runs
 * this `%` as an integer operation while the products fit 32 bits — as they do for
 * every proof-of-π position.)
 */
function powMod16(e: number, m: number): number {
  if (m === 1) return 0;
  let result = 1;
  let base = 16 % m;
  while (e > 0) {
    if (e & 1) result = (result * base) % m;
    e = Math.floor(e / 2);
    if (e > 0) base = (base * base) % m;
  }
  return result;
}

/**
 * Σ_j-series of BBP as a 72-bit fixed-point fraction in 24-bit limbs (mod 1),
 * each term truncated: the result is ≤ the true value by less than (d + 19) units.
 * `out` receives [hi, mid, lo], each in [0, 2^24).
 */
function seriesFast(d: number, j: number, out: number[]): void {
  let hi = 0;
  let mid = 0;
  let lo = 0;
  // Head: k = 0..d, fractional part of 16^(d-k)/(8k+j).
  for (let k = 0; k <= d; k++) {
    const m = 8 * k + j;
    let r = powMod16(d - k, m);
    // Exact long division of r/m in base 2^24: r < m < 2^26, so r·2^24 < 2^50 and the
    // correctly rounded quotient is at least 1/m away from the next integer, so its
    // floor is exact; the remainder t − q·m is then exact as well.
    let t = r * LIMB;
    let q = Math.floor(t / m);
    r = t - q * m;
    hi += q;
    t = r * LIMB;
    q = Math.floor(t / m);
    r = t - q * m;
    mid += q;
    lo += Math.floor((r * LIMB) / m);
  }
  // Tail: k > d, 16^(d-k)/(8k+j) = 2^-4t/m; exact floor of 2^(72-4t)/m.
  for (let t = 1; 4 * t < 72; t++) {
    const m = 8 * (d + t) + j;
    // floor(2^72/m) in limbs, then shifted right by 4t bits (floor of floor is exact).
    let r = 1;
    let x = r * LIMB;
    let a = Math.floor(x / m);
    r = x - a * m;
    x = r * LIMB;
    let b = Math.floor(x / m);
    r = x - b * m;
    x = r * LIMB;
    let c = Math.floor(x / m);
    let s = 4 * t;
    while (s >= 24) {
      c = b;
      b = a;
      a = 0;
      s -= 24;
    }
    if (s > 0) {
      const p = 2 ** s;
      const q = LIMB / p;
      c = Math.floor(c / p) + (b % p) * q;
      b = Math.floor(b / p) + (a % p) * q;
      a = Math.floor(a / p);
    }
    hi += a;
    mid += b;
    lo += c;
  }
  // Normalise the limbs (carry upward) and drop the integer part.
  mid += Math.floor(lo / LIMB);
  lo %= LIMB;
  hi += Math.floor(mid / LIMB);
  mid %= LIMB;
  out[0] = hi % LIMB;
  out[1] = mid;
  out[2] = lo;
}

/** The 32 bits after the point of frac(16^d·π), or -1 when the 72-bit error bound leaves them uncertain. */
function digitsFast(d: number): number {
  const s1 = [0, 0, 0];
  const s4 = [0, 0, 0];
  const s5 = [0, 0, 0];
  const s6 = [0, 0, 0];
  seriesFast(d, 1, s1);
  seriesFast(d, 4, s4);
  seriesFast(d, 5, s5);
  seriesFast(d, 6, s6);
  // v = 4·S1 − 2·S4 − S5 − S6 mod 2^72, limb by limb, then normalised with floor carries.
  let lo = 4 * s1[2] - 2 * s4[2] - s5[2] - s6[2];
  let mid = 4 * s1[1] - 2 * s4[1] - s5[1] - s6[1];
  let hi = 4 * s1[0] - 2 * s4[0] - s5[0] - s6[0];
  let carry = Math.floor(lo / LIMB);
  lo -= carry * LIMB;
  mid += carry;
  carry = Math.floor(mid / LIMB);
  mid -= carry * LIMB;
  hi += carry;
  hi -= Math.floor(hi / LIMB) * LIMB;
  // Each computed S_j lies in (S_j − E, S_j] with E = d + 19 units of 2^-72, so the
  // combination lies within ±4E of the truth. The top 32 bits are certain only if the
  // 40 bits below them are at least 4E away from both ends of their range.
  const low40 = (mid % 2 ** 16) * LIMB + lo;
  const margin = 4 * (d + 19);
  if (low40 < margin || low40 + margin > 2 ** 40) return -1;
  return hi * 2 ** 8 + Math.floor(mid / 2 ** 16);
}

/** BigInt version of the same sum with `bits` of fixed point; -1 when still uncertain. */
function digitsBig(d: number, bits: number): number {
  const P = BigInt(bits);
  const ONE = 1n << P;
  const mask = ONE - 1n;
  let v = 0n;
  const terms = Math.ceil(bits / 4) + 1;
  for (const [j, w] of [[1, 4n], [4, -2n], [5, -1n], [6, -1n]] as const) {
    let s = 0n;
    for (let k = 0; k <= d; k++) {
      const m = 8 * k + j;
      s += (BigInt(powMod16(d - k, m)) << P) / BigInt(m);
    }
    for (let t = 1; t <= terms; t++) s += (ONE >> BigInt(4 * t)) / BigInt(8 * (d + t) + j);
    v += w * (s & mask);
  }
  v &= mask;
  const margin = BigInt(4 * (d + terms + 2));
  const lowBits = P - 32n;
  const low = v & ((1n << lowBits) - 1n);
  if (low < margin || low + margin > 1n << lowBits) return -1;
  return Number(v >> lowBits);
}

/** 32 bits (8 hex digits) of π starting at 1-based `position`; exact. */
function digitWord(position: number): number {
  const d = position - 1;
  let w = digitsFast(d);
  for (let bits = 128; w < 0; bits *= 2) w = digitsBig(d, bits);
  return w;
}

/**
 * The BigInt-only evaluation at a given precision, exposed so tests can cross-check the
 * fast path against it. Returns the 32-bit digit word, or -1 if `bits` were not enough.
 * @internal
 */
export function piDigitWordBigInt(position: number, bits = 128): number {
  checkPosition(position, 1);
  return digitsBig(position - 1, bits);
}

function checkPosition(position: number, count: number): void {
  if (!Number.isSafeInteger(position) || position < 1 || position > MAX_PI_POSITION) {
    throw badPosition(`π digit position must be an integer in [1, ${MAX_PI_POSITION}]`, { position });
  }
  if (!Number.isSafeInteger(count) || count < 0 || position + count - 1 > MAX_PI_POSITION + DIGITS_PER_EVAL - 1) {
    throw badPosition('π digit count out of range', { position, count });
  }
}

function hex8(word: number): string {
  let s = '';
  for (let shift = 28; shift >= 0; shift -= 4) s += HEX[Math.floor(word / 2 ** shift) % 16];
  return s;
}

/**
 * `count` hexadecimal digits of π (uppercase) starting at 1-based `position` after the
 * point. `piHexDigits(1, 16) === '243F6A8885A308D3'`. Each run of 8 digits is one
 * exact BBP evaluation costing O(position · log position) integer operations.
 * @throws KpcError `POW_BAD_PARAMS` unless 1 ≤ position ≤ {@link MAX_PI_POSITION}
 *   and count is a non-negative integer.
 */
export function piHexDigits(position: number, count: number): string {
  checkPosition(position, count);
  let out = '';
  for (let p = position; out.length < count; p += DIGITS_PER_EVAL) out += hex8(digitWord(p));
  return out.slice(0, count);
}

/**
 * The 8 digits at `position` as a 32-bit unsigned integer (first digit in the top nibble).
 * @throws KpcError `POW_BAD_PARAMS` on a bad position.
 */
export function piDigitWord(position: number): number {
  checkPosition(position, DIGITS_PER_EVAL);
  return digitWord(position);
}
