import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  bf16BitsToF32Bits,
  bf16ToF32,
  f16BitsToF32Bits,
  f16ToF32,
  f32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32FromBits,
  f32ToBf16,
  f32ToF16,
  roundToBf16,
  roundToF16,
} from '../../src/quant/index.js';
import { bf16RoundingProbe, f16RoundingProbe } from './gen.js';
import { refCase, sha256Hex } from './helpers.js';

const golden = (name: string) => refCase(name).sha256;
const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('f16', () => {
  it('round-trips all 65536 f16 values exactly (f16 → f32 → f16)', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const w = f16BitsToF32Bits(h);
      if (isNaN16(h)) {
        // NaN: comes back quiet with its payload; ggml's software f32→f16 gives the canonical quiet NaN
        if (!Number.isNaN(f32FromBits(w)) || (w & 0x400000) === 0 || (w & 0x3fe000) >>> 13 !== (h & 0x1ff)) bad.push(`nan ${h}`);
        if (f32BitsToF16Bits(w) !== ((h & 0x8000) | 0x7e00)) bad.push(`nan back ${h}`);
        continue;
      }
      if (f32BitsToF16Bits(w) !== h) bad.push(`bits ${h}`);
      if (f32ToF16(f16ToF32(h)) !== h) bad.push(`number ${h}`);
      // the value is the textbook one: (−1)^s · 2^(e−15) · (1 + m/1024), subnormals 2^-24 · m
      const e = (h >> 10) & 31;
      const m = h & 1023;
      const v = e === 31 ? Infinity : e === 0 ? m * 2 ** -24 : 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(f16ToF32(h), h & 0x8000 ? -v : v)) bad.push(`value ${h}`);
    }
    expect(bad).to.deep.equal([]);
  });

  it('rounds every float32 rounding-critical pattern as ggml_compute_fp32_to_fp16 (golden SHA-256)', () => {
    const probe = f16RoundingProbe();
    const out = new Uint16Array(probe.length);
    for (let i = 0; i < probe.length; i++) out[i] = f32BitsToF16Bits(probe[i]);
    expect(sha256Hex(out)).to.equal(golden('probe-f16'));
  });

  it('rounds to nearest, ties to even, at the edges of the range', () => {
    expect(f32ToF16(65504)).to.equal(0x7bff);
    expect(f32ToF16(65519.99)).to.equal(0x7bff);
    expect(f32ToF16(65520)).to.equal(0x7c00); // the tie above the largest finite goes to Inf
    expect(f32ToF16(-Infinity)).to.equal(0xfc00);
    expect(f32ToF16(2 ** -24)).to.equal(1);
    expect(f32ToF16(2 ** -25)).to.equal(0); // tie to even: 0
    expect(f32ToF16(3 * 2 ** -25)).to.equal(2); // tie 1.5 → 2
    expect(f32ToF16(2 ** -25 * 1.0000001)).to.equal(1);
    expect(f32ToF16(-0)).to.equal(0x8000);
    expect(f32ToF16(1 + 2 ** -11)).to.equal(0x3c00); // tie → even mantissa 0
    expect(f32ToF16(1 + 3 * 2 ** -11)).to.equal(0x3c02);
    expect(f32ToF16(2 ** -14 - 2 ** -25)).to.equal(0x0400); // rounds up into the smallest normal
    expect(f32ToF16(NaN) & 0x7fff).to.equal(0x7e00);
  });

  it('picks the nearest f16 of any float32 (property)', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, min: -65504, max: 65504 }), (x) => {
        const r = roundToF16(x);
        const h = f32ToF16(x);
        // neighbours one f16 step away on each side (in bit order, sign-aware)
        for (const nb of [h + 1, h - 1]) {
          if ((nb & 0x7fff) >= 0x7c00 || nb < 0 || nb > 0xffff || (nb ^ h) & 0x8000) continue;
          expect(Math.abs(f16ToF32(nb) - x)).to.be.at.least(Math.abs(r - x));
        }
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('bf16', () => {
  it('rounds every rounding-critical pattern as ggml_compute_fp32_to_bf16 (golden SHA-256)', () => {
    const probe = bf16RoundingProbe();
    const out = new Uint16Array(probe.length);
    for (let i = 0; i < probe.length; i++) out[i] = f32BitsToBf16Bits(probe[i]);
    expect(sha256Hex(out)).to.equal(golden('probe-bf16'));
  });

  it('keeps NaN quiet, rounds ties to even, widens exactly', () => {
    expect(f32BitsToBf16Bits(0x7f800001)).to.equal(0x7fc0); // signalling NaN → quiet
    expect(f32BitsToBf16Bits(0xffc12345)).to.equal(0xffc1);
    expect(f32BitsToBf16Bits(0x3f808000)).to.equal(0x3f80); // tie, even stays
    expect(f32BitsToBf16Bits(0x3f818000)).to.equal(0x3f82); // tie, odd rounds up
    expect(f32BitsToBf16Bits(0x7f7fffff)).to.equal(0x7f80); // max float rounds to Inf
    expect(f32BitsToBf16Bits(0x00000001)).to.equal(0x0000); // subnormals are rounded, not flushed
    expect(f32BitsToBf16Bits(0x00008001)).to.equal(0x0001);
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      if (bf16BitsToF32Bits(h) !== (h << 16) >>> 0) bad.push(h);
      if ((h & 0x7f80) !== 0x7f80 && f32BitsToBf16Bits(bf16BitsToF32Bits(h)) !== h) bad.push(h);
    }
    expect(bad).to.deep.equal([]);
    expect(bf16ToF32(f32ToBf16(1.5))).to.equal(1.5);
    expect(roundToBf16(1 + 2 ** -8)).to.equal(1); // tie: even mantissa stays
    expect(roundToBf16(1 + 3 * 2 ** -8)).to.equal(1 + 2 ** -6); // tie: odd mantissa rounds up
    expect(f32Bits(-2)).to.equal(0xc0000000);
  });
});
