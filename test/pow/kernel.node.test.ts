import { sha256 } from '@noble/hashes/sha2.js';
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { leadingZeroBits, POW_WORKER_SOURCE } from '../../src/pow/index.js';
import { createPowKernel, type PowKernel } from '../../src/pow/kernel.js';

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function reference(prefix: Uint8Array, nonce: number): Uint8Array {
  const msg = new Uint8Array(prefix.length + 8);
  msg.set(prefix);
  msg.set(u64be(nonce), prefix.length);
  return sha256(msg);
}

const nonceArb = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.constantFrom(0xff, 0xffff, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);

describe('pow kernel (midstate SHA-256)', () => {
  it('digest equals @noble/hashes SHA-256 for every prefix length and nonce', () => {
    const k = createPowKernel();
    // Every length across three block boundaries, including the 1↔2 final-block switch.
    for (let len = 0; len <= 200; len++) {
      const prefix = Uint8Array.from({ length: len }, (_, i) => (i * 131 + len) & 0xff);
      for (const n of [0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
        expect(k.digest(prefix, n), `len ${len} nonce ${n}`).to.deep.equal(reference(prefix, n));
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), nonceArb, (prefix, n) => {
        expect(k.digest(prefix, n)).to.deep.equal(reference(prefix, n));
      }),
      { numRuns: 300 },
    );
  });

  it('search returns the first nonce with enough leading zero bits, or -1', () => {
    const k = createPowKernel();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 40, maxLength: 140 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 2 ** 40 }), (prefix, d, start) => {
        const found = k.search(prefix, d, start, 400);
        let expected = -1;
        for (let n = start; n < start + 400; n++) {
          if (leadingZeroBits(reference(prefix, n)) >= d) {
            expected = n;
            break;
          }
        }
        expect(found).to.equal(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('search agrees with the digest across calls on different prefixes (midstate cache)', () => {
    const k: PowKernel = createPowKernel();
    const a = new Uint8Array(100).fill(1);
    const b = new Uint8Array(70).fill(2);
    const na = k.search(a, 6, 0, 10_000);
    const nb = k.search(b, 6, 0, 10_000);
    expect(k.search(a, 6, 0, 10_000)).to.equal(na);
    expect(leadingZeroBits(k.digest(a, na))).to.be.at.least(6);
    expect(leadingZeroBits(k.digest(b, nb))).to.be.at.least(6);
  });

  it('is self-contained: its source text alone builds a working kernel', () => {
    // What the Worker does: no closure, no imports, only the function's text.
    // (tsx transpiles with esbuild `keepNames`, which must not have touched the body.)
    expect(createPowKernel.toString()).not.to.include('__name');
    const rebuilt = new Function(`return (${createPowKernel.toString()})();`)() as PowKernel;
    const prefix = new Uint8Array(90).fill(9);
    expect(rebuilt.digest(prefix, 12345)).to.deep.equal(reference(prefix, 12345));
    expect(rebuilt.search(prefix, 8, 0, 100_000)).to.equal(createPowKernel().search(prefix, 8, 0, 100_000));
  });

  it('the Worker program solves a request and reports progress', () => {
    const posted: Array<Record<string, unknown>> = [];
    const scope: { onmessage: ((ev: { data: unknown }) => void) | null; postMessage(m: unknown): void } = {
      onmessage: null,
      postMessage: (m) => posted.push(m as Record<string, unknown>),
    };
    new Function('self', POW_WORKER_SOURCE)(scope);
    expect(posted).to.deep.equal([{ op: 'ready' }]);
    const prefix = new Uint8Array(75).fill(4);
    scope.onmessage!({ data: { op: 'solve', id: 7, prefix, difficulty: 10, chunk: 100 } });
    const done = posted.at(-1)!;
    const expected = createPowKernel().search(prefix, 10, 0, 1_000_000);
    expect(done).to.deep.equal({ op: 'done', id: 7, nonce: expected });
    const progress = posted.filter((m) => m.op === 'progress');
    expect(progress.length).to.equal(Math.floor(expected / 100));
    progress.forEach((m, i) => expect(m.attempts).to.equal(100 * (i + 1)));
    // Anything else is ignored.
    scope.onmessage!({ data: null });
    scope.onmessage!({ data: { op: 'other' } });
    expect(posted.at(-1)).to.equal(done);
  });
});
