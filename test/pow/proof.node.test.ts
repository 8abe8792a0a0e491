import { sha256 } from '@noble/hashes/sha2.js';
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { identityFromSecretKey, utf8Encode } from '../../src/crypto/index.js';
import { KpcError, isKpcError } from '../../src/errors.js';
import {
  DEFAULT_EPOCH_MS,
  MAX_POW_PROOF_BYTES,
  POW_POSITION_RANGE,
  decodePowProof,
  encodePowProof,
  epochOf,
  leadingZeroBits,
  piHexDigits,
  powChallenge,
  solveProof,
  verifyProof,
  type PowProof,
  type VerifyOptions,
} from '../../src/pow/index.js';
import { codeOrNone } from '../helpers/errors.js';

/** Fixed identities: every run solves the same puzzles, so the tests are deterministic. */
const KEYS = Array.from({ length: 8 }, (_, i) => identityFromSecretKey(sha256(new Uint8Array([0x70, i]))).publicKey);
const [alice, bob] = KEYS;
const CLUSTER = 'demo';
const EPOCH_MS = DEFAULT_EPOCH_MS;
/** A fixed "now" in the middle of an epoch (not near a boundary). */
const NOW = 1_700_000_000_000 - (1_700_000_000_000 % EPOCH_MS) + EPOCH_MS / 2;
const EPOCH = epochOf(NOW, EPOCH_MS);
const D = 8;

function opts(over: Partial<VerifyOptions> = {}): VerifyOptions {
  return { publicKey: alice, clusterId: CLUSTER, now: NOW, epochMs: EPOCH_MS, minDifficulty: D, ...over };
}


async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(KpcError);
    return (err as KpcError).code;
  }
  throw new Error('expected a rejection');
}

const solved = new Map<string, PowProof>();
async function proofFor(publicKey = alice, clusterId = CLUSTER, epoch = EPOCH, difficulty = D): Promise<PowProof> {
  const key = `${publicKey[0]}|${clusterId}|${epoch}|${difficulty}`;
  let p = solved.get(key);
  if (!p) solved.set(key, (p = await solveProof({ publicKey, clusterId, epoch, difficulty })));
  return p;
}

describe('proof-of-π: puzzle', () => {
  it('derives a position in range and the π digits there', () => {
    for (const key of KEYS) {
      const c = powChallenge(key, CLUSTER, EPOCH);
      expect(c.position).to.be.within(1, POW_POSITION_RANGE);
      expect(c.digits).to.equal(piHexDigits(c.position, 8));
      expect(c.prefix.subarray(c.prefix.length - 8)).to.deep.equal(utf8Encode(c.digits));
    }
    // Binding: another key, cluster or epoch gives another prefix.
    const base = powChallenge(alice, CLUSTER, EPOCH).prefix;
    expect(powChallenge(bob, CLUSTER, EPOCH).prefix).not.to.deep.equal(base);
    expect(powChallenge(alice, 'demo2', EPOCH).prefix).not.to.deep.equal(base);
    expect(powChallenge(alice, CLUSTER, EPOCH + 1).prefix).not.to.deep.equal(base);
  });

  it('epochOf floors time by the epoch length and rejects bad input', () => {
    expect(epochOf(0, 1000)).to.equal(0);
    expect(epochOf(999, 1000)).to.equal(0);
    expect(epochOf(1000, 1000)).to.equal(1);
    expect(epochOf(NOW)).to.equal(Math.floor(NOW / DEFAULT_EPOCH_MS));
    for (const [now, ms] of [[-1, 1000], [Number.NaN, 1000], [Infinity, 1000], [0, 0], [0, 1.5], [0, -5]]) {
      expect(codeOrNone(() => epochOf(now, ms)), `${now}, ${ms}`).to.equal('POW_BAD_PARAMS');
    }
  });
});

describe('proof-of-π: solve and verify', () => {
  it('round trip: the solved proof verifies and its hash has the zero bits', async () => {
    for (const key of KEYS.slice(0, 4)) {
      const p = await proofFor(key);
      expect(p).to.include({ version: 1, clusterId: CLUSTER, epoch: EPOCH, difficulty: D });
      const v = verifyProof(p, opts({ publicKey: key }));
      expect(v.leadingZeros).to.be.at.least(D);
      expect(v.hashes).to.equal(2);
      const { prefix } = powChallenge(key, CLUSTER, EPOCH);
      const nonceBytes = new Uint8Array(8);
      new DataView(nonceBytes.buffer).setBigUint64(0, BigInt(p.nonce));
      expect(leadingZeroBits(sha256(new Uint8Array([...prefix, ...nonceBytes])))).to.equal(v.leadingZeros);
      // Sequential search: the nonce is the first solution, so nonce + 1 hashes were tried.
      for (let n = Math.max(0, p.nonce - 50); n < p.nonce; n++) {
        expect(codeOrNone(() => verifyProof({ ...p, nonce: n }, opts({ publicKey: key })))).to.equal('POW_INVALID');
      }
    }
  });

  it('reports progress, ending with nonce + 1 attempts', async () => {
    const seen: number[] = [];
    const p = await solveProof({ publicKey: bob, clusterId: CLUSTER, epoch: EPOCH, difficulty: 12, chunk: 64, onProgress: (e) => seen.push(e.attempts) });
    expect(seen.length).to.be.greaterThan(1);
    expect(seen.at(-1)).to.equal(p.nonce + 1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).to.be.greaterThan(seen[i - 1]);
  });

  it('is cancellable', async () => {
    const ctrl = new AbortController();
    const run = solveProof({ publicKey: alice, clusterId: CLUSTER, epoch: EPOCH, difficulty: 60, chunk: 256, signal: ctrl.signal, onProgress: () => ctrl.abort() });
    expect(await rejectionCode(run)).to.equal('POW_ABORTED');
    ctrl.abort();
    expect(await rejectionCode(solveProof({ publicKey: alice, clusterId: CLUSTER, epoch: EPOCH, difficulty: 4, signal: ctrl.signal }))).to.equal('POW_ABORTED');
  });

  it('rejects bad solve parameters with POW_BAD_PARAMS', async () => {
    const good = { publicKey: alice, clusterId: CLUSTER, epoch: EPOCH, difficulty: 4 };
    for (const bad of [
      { difficulty: 65 },
      { difficulty: -1 },
      { difficulty: 2.5 },
      { chunk: 0 },
      { publicKey: new Uint8Array(31) },
      { clusterId: '' },
      { clusterId: 'x'.repeat(129) },
      { clusterId: 'a\uD800' },
      { epoch: -1 },
      { epoch: 2 ** 53 },
    ]) {
      expect(await rejectionCode(solveProof({ ...good, ...bad })), JSON.stringify(bad)).to.equal('POW_BAD_PARAMS');
    }
  });
});

describe('proof-of-π: rejections', () => {
  it('another key → POW_WRONG_KEY; the key really is bound', async () => {
    const p = await proofFor(alice);
    expect(codeOrNone(() => verifyProof(p, opts({ publicKey: bob })))).to.equal('POW_WRONG_KEY');
    // Relabelling alice's work as bob's does not make it bob's.
    expect(codeOrNone(() => verifyProof({ ...p, publicKey: bob }, opts({ publicKey: bob })))).to.equal('POW_INVALID');
  });

  it('another cluster → POW_WRONG_CLUSTER; the cluster really is bound', async () => {
    const p = await proofFor(alice);
    expect(codeOrNone(() => verifyProof(p, opts({ clusterId: 'other' })))).to.equal('POW_WRONG_CLUSTER');
    expect(codeOrNone(() => verifyProof({ ...p, clusterId: 'other' }, opts({ clusterId: 'other' })))).to.equal('POW_INVALID');
  });

  it('epochs: current and previous accepted, older → POW_EXPIRED, later → POW_EPOCH_FUTURE', async () => {
    const prev = await proofFor(alice, CLUSTER, EPOCH - 1);
    expect(verifyProof(prev, opts()).leadingZeros).to.be.at.least(D);
    expect(codeOrNone(() => verifyProof(prev, opts({ acceptPreviousEpoch: false })))).to.equal('POW_EXPIRED');
    const old = await proofFor(alice, CLUSTER, EPOCH - 2);
    expect(codeOrNone(() => verifyProof(old, opts()))).to.equal('POW_EXPIRED');
    const next = await proofFor(alice, CLUSTER, EPOCH + 1);
    expect(codeOrNone(() => verifyProof(next, opts()))).to.equal('POW_EPOCH_FUTURE');
    // Near the boundary, a clock a little ahead is tolerated (maxClockSkewMs).
    const boundary = (EPOCH + 1) * EPOCH_MS;
    expect(verifyProof(next, opts({ now: boundary - 10_000, maxClockSkewMs: 30_000 })).leadingZeros).to.be.at.least(D);
    expect(codeOrNone(() => verifyProof(next, opts({ now: boundary - 10_000, maxClockSkewMs: 0 })))).to.equal('POW_EPOCH_FUTURE');
    // The epoch is bound too: relabelling old work as current fails.
    expect(codeOrNone(() => verifyProof({ ...old, epoch: EPOCH }, opts()))).to.equal('POW_INVALID');
  });

  it('difficulty below the minimum → POW_TOO_EASY; an inflated claim → POW_INVALID', async () => {
    const p = await proofFor(alice);
    expect(codeOrNone(() => verifyProof(p, opts({ minDifficulty: D + 1 })))).to.equal('POW_TOO_EASY');
    const zeros = verifyProof(p, opts()).leadingZeros;
    expect(codeOrNone(() => verifyProof({ ...p, difficulty: zeros + 1 }, opts()))).to.equal('POW_INVALID');
    expect(verifyProof({ ...p, difficulty: zeros }, opts({ minDifficulty: zeros })).leadingZeros).to.equal(zeros);
  });

  it('tampered nonce → POW_INVALID', async () => {
    const p = await proofFor(alice, CLUSTER, EPOCH, 16);
    for (const nonce of [p.nonce + 1, p.nonce ^ 1, p.nonce + 2 ** 32]) {
      expect(codeOrNone(() => verifyProof({ ...p, nonce }, opts())), String(nonce)).to.equal('POW_INVALID');
    }
  });

  it('rejects bad verifier options with POW_BAD_PARAMS', async () => {
    const p = await proofFor(alice);
    for (const bad of [{ now: -1 }, { now: Number.NaN }, { epochMs: 0 }, { minDifficulty: 65 }, { maxClockSkewMs: -1 }, { clusterId: '' }, { publicKey: new Uint8Array(3) }]) {
      expect(codeOrNone(() => verifyProof(p, opts(bad))), JSON.stringify(bad)).to.equal('POW_BAD_PARAMS');
    }
  });

  it('verification is ≥ 1000× cheaper than solving, counted in hashes', async () => {
    // 8 fixed keys at difficulty 14 (expected 2^14 = 16384 hashes each).
    let solveHashes = 0;
    let verifyHashes = 0;
    for (const key of KEYS) {
      const p = await proofFor(key, CLUSTER, EPOCH, 14);
      solveHashes += 1 + (p.nonce + 1); // the position hash, then one per nonce tried
      verifyHashes += verifyProof(p, opts({ publicKey: key, minDifficulty: 14 })).hashes;
    }
    expect(solveHashes / verifyHashes).to.be.at.least(1000);
  });
});

describe('proof-of-π: encoding', () => {
  const proofArb = fc.record({
    version: fc.constant(1 as const),
    publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    clusterId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.length <= 128),
    epoch: fc.maxSafeNat(),
    difficulty: fc.integer({ min: 0, max: 64 }),
    nonce: fc.maxSafeNat(),
  });

  it('round trips, canonically, within the size limit', () => {
    fc.assert(
      fc.property(proofArb, (p) => {
        const bytes = encodePowProof(p);
        expect(bytes.length).to.be.at.most(MAX_POW_PROOF_BYTES);
        const back = decodePowProof(bytes);
        expect(back).to.deep.equal(p);
        expect(encodePowProof(back)).to.deep.equal(bytes);
      }),
      { numRuns: 300 },
    );
    const longest = { version: 1 as const, publicKey: alice, clusterId: '\u{10FFFF}'.repeat(64), epoch: 0, difficulty: 0, nonce: 0 };
    expect(decodePowProof(encodePowProof(longest))).to.deep.equal(longest);
  });

  it('a solved proof survives the wire and still verifies', async () => {
    const p = await proofFor(alice);
    expect(verifyProof(decodePowProof(encodePowProof(p)), opts()).leadingZeros).to.be.at.least(D);
  });

  it('rejects each malformed field with POW_MALFORMED', async () => {
    const good = encodePowProof(await proofFor(alice));
    const mutate = (f: (b: Uint8Array) => Uint8Array | void) => {
      const b = good.slice();
      return f(b) ?? b;
    };
    const cases: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      short: good.subarray(0, 51),
      version0: mutate((b) => void (b[0] = 0)),
      version2: mutate((b) => void (b[0] = 2)),
      difficulty65: mutate((b) => void (b[1] = 65)),
      epochOver53: mutate((b) => void (b[34] = 0x00, b[35] = 0x20)),
      nonceOver53: mutate((b) => void (b[42] = 0xff)),
      lengthTooBig: mutate((b) => void (b[51] += 1)),
      lengthTooSmall: mutate((b) => void (b[51] -= 1)),
      trailing: new Uint8Array([...good, 0x61]),
      emptyId: mutate((b) => b.subarray(0, 52).map((x, i) => (i === 51 ? 0 : x))),
      badUtf8: mutate((b) => void (b[52] = 0xff)),
      overlongUtf8: new Uint8Array([...good.subarray(0, 50), 0, 2, 0xc1, 0x81]),
      surrogateUtf8: new Uint8Array([...good.subarray(0, 50), 0, 3, 0xed, 0xa0, 0x80]),
      tooManyUnits: new Uint8Array([...good.subarray(0, 50), 0, 129, ...new Uint8Array(129).fill(0x61)]),
      oversize: new Uint8Array(MAX_POW_PROOF_BYTES + 1),
    };
    for (const [name, bytes] of Object.entries(cases)) expect(codeOrNone(() => decodePowProof(bytes)), name).to.equal('POW_MALFORMED');
    expect(codeOrNone(() => decodePowProof('x' as unknown as Uint8Array))).to.equal('POW_MALFORMED');
    const solvedProof = await proofFor(alice);
    expect(codeOrNone(() => encodePowProof({ ...solvedProof, clusterId: 'a\uDC00' }))).to.equal('POW_MALFORMED');
  });

  it('fuzz: random bytes and mutations decode or throw POW_MALFORMED, nothing else', async () => {
    const good = encodePowProof(await proofFor(alice));
    const check = (bytes: Uint8Array) => {
      try {
        const p = decodePowProof(bytes);
        expect(encodePowProof(p)).to.deep.equal(bytes); // accepted ⇒ canonical
      } catch (err) {
        expect(isKpcError(err, 'POW_MALFORMED'), String(err)).to.equal(true);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: MAX_POW_PROOF_BYTES + 20 }), check), { numRuns: 500 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length + 4), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(good.length + 4), (edits, cut) => {
        const b = new Uint8Array([...good, 0, 0, 0, 0, 0]);
        for (const [i, v] of edits) b[i] = v;
        check(b.subarray(0, cut));
      }),
      { numRuns: 500 },
    );
  });

  it('fuzz: verifyProof on arbitrary values throws only KpcError', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(codeOrNone(() => verifyProof(v as PowProof, opts()))).to.be.a('string');
      }),
      { numRuns: 300 },
    );
  });
});
