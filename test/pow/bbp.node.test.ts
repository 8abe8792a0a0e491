import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { MAX_PI_POSITION, POW_POSITION_RANGE, piDigitWord, piHexDigits } from '../../src/pow/index.js';
import { piDigitWordBigInt } from '../../src/pow/bbp.js';
import { codeOrNone } from '../helpers/errors.js';

/** The first 128 hex digits of π after the point, as published. */
const PUBLISHED =
  '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89452821E638D01377BE5466CF34E90C6CC0AC29B7C97C50DD3F84D5B5B5470917';

/**
 * Independent oracle: π by Machin's formula π = 16·atan(1/5) − 4·atan(1/239) in BigInt
 * fixed point, then its hex expansion. Nothing shared with the BBP code.
 */
function machinPiHex(digits: number): string {
  const guard = 16; // extra hex digits absorb the truncation of ~digits series terms
  const scale = 1n << BigInt(4 * (digits + guard));
  const atanInv = (x: bigint): bigint => {
    const x2 = x * x;
    let term = scale / x;
    let sum = 0n;
    for (let k = 0n; term !== 0n; k++) {
      sum += (k % 2n === 0n ? term : -term) / (2n * k + 1n);
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  const frac = (pi - 3n * scale) >> BigInt(4 * guard);
  return frac.toString(16).toUpperCase().padStart(digits, '0');
}

const ORACLE = machinPiHex(4200);


describe('π oracle', () => {
  it('Machin agrees with the published expansion', () => {
    expect(ORACLE.slice(0, PUBLISHED.length)).to.equal(PUBLISHED);
  });
});

describe('piHexDigits (BBP digit extraction)', () => {
  it('reproduces the published digits from position 1', () => {
    expect(piHexDigits(1, 16)).to.equal('243F6A8885A308D3');
    expect(piHexDigits(1, 128)).to.equal(PUBLISHED);
  });

  it('gets every single digit at positions 1..128 right', () => {
    for (let p = 1; p <= 128; p++) expect(piHexDigits(p, 1), `position ${p}`).to.equal(PUBLISHED[p - 1]);
  });

  it('gets every 8-digit word in the proof-of-π range right', () => {
    for (let p = 1; p <= POW_POSITION_RANGE + 8; p++) {
      expect(piHexDigits(p, 8), `position ${p}`).to.equal(ORACLE.slice(p - 1, p + 7));
    }
  });

  it('agrees with the oracle at random positions and lengths up to 4096', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 40 }), (p, n) => {
        expect(piHexDigits(p, n)).to.equal(ORACLE.slice(p - 1, p - 1 + n));
      }),
      { numRuns: 60 },
    );
  });

  it('piDigitWord is the same 8 digits as a 32-bit integer', () => {
    expect(piDigitWord(1)).to.equal(0x243f6a88);
    for (const p of [2, 9, 100, 255]) expect(piDigitWord(p).toString(16).toUpperCase().padStart(8, '0')).to.equal(piHexDigits(p, 8));
  });

  it('the BigInt fallback path agrees with the fast path', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), (p) => {
        expect(piDigitWordBigInt(p, 128)).to.equal(piDigitWord(p));
      }),
      { numRuns: 40 },
    );
  });

  it('the error bound is sound: with too few bits the answer is "unsure", never wrong', () => {
    let unsure = 0;
    for (let p = 1; p <= 400; p++) {
      const w = piDigitWordBigInt(p, 44); // 12 bits of margin: often not enough
      if (w < 0) unsure++;
      else expect(w, `position ${p}`).to.equal(parseInt(ORACLE.slice(p - 1, p + 7), 16));
    }
    expect(unsure).to.be.greaterThan(0); // the check does trigger
  });

  it('rejects bad positions and counts with POW_BAD_PARAMS', () => {
    for (const [p, n] of [
      [0, 1],
      [-1, 1],
      [1.5, 1],
      [Number.NaN, 1],
      [MAX_PI_POSITION + 1, 1],
      [1, -1],
      [1, 0.5],
      [1, Number.POSITIVE_INFINITY],
      [MAX_PI_POSITION, 9],
    ]) {
      expect(codeOrNone(() => piHexDigits(p, n)), `${p}, ${n}`).to.equal('POW_BAD_PARAMS');
    }
    expect(codeOrNone(() => piHexDigits('1' as unknown as number, 1))).to.equal('POW_BAD_PARAMS');
    expect(piHexDigits(5, 0)).to.equal('');
  });
});
