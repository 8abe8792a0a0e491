import { sha256 } from '@noble/hashes/sha2.js';
import { expect } from 'chai';
import { describe, it } from 'node:test';
import { KpcError } from '../../src/errors.js';
import { PowSolver, solveProof, verifyProof, type PowProgress } from '../../src/pow/index.js';

const key = (i: number) => sha256(new Uint8Array([0x50, i]));
const NOW = 1_700_000_000_000;
const EPOCH = Math.floor(NOW / 3_600_000);

async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(KpcError);
    return (err as KpcError).code;
  }
  throw new Error('expected a rejection');
}

describe('PowSolver without Worker (Node)', () => {
  it('solves in-thread, with the same answer as solveProof, and reports progress', async () => {
    const solver = new PowSolver();
    expect(solver.inThread).to.equal(true);
    const events: PowProgress[] = [];
    solver.onprogress = (e) => events.push(e);
    const params = { publicKey: key(1), clusterId: 'demo', epoch: EPOCH, difficulty: 12, chunk: 128 };
    const p = await solver.solve(params);
    expect(p).to.deep.equal(await solveProof(params));
    expect(events.length).to.be.greaterThan(1);
    expect(events.at(-1)).to.deep.equal({ attempts: p.nonce + 1, difficulty: 12, expectedAttempts: 4096 });
    expect(verifyProof(p, { publicKey: key(1), clusterId: 'demo', now: NOW, minDifficulty: 12 }).leadingZeros).to.be.at.least(12);
  });

  it('runs concurrent solves one after another', async () => {
    const solver = new PowSolver();
    const ps = await Promise.all([1, 2, 3].map((i) => solver.solve({ publicKey: key(i), clusterId: 'demo', epoch: EPOCH, difficulty: 8 })));
    ps.forEach((p, i) => expect(verifyProof(p, { publicKey: key(i + 1), clusterId: 'demo', now: NOW, minDifficulty: 8 }).leadingZeros).to.be.at.least(8));
  });

  it('aborts on the signal and on terminate(), running or queued', async () => {
    const solver = new PowSolver();
    const ctrl = new AbortController();
    const running = solver.solve({ publicKey: key(1), clusterId: 'demo', epoch: EPOCH, difficulty: 60, chunk: 256, signal: ctrl.signal, onProgress: () => ctrl.abort() });
    expect(await rejectionCode(running)).to.equal('POW_ABORTED');
    // Still usable afterwards.
    expect((await solver.solve({ publicKey: key(2), clusterId: 'demo', epoch: EPOCH, difficulty: 4 })).difficulty).to.equal(4);
    let started = false;
    const long = solver.solve({ publicKey: key(3), clusterId: 'demo', epoch: EPOCH, difficulty: 60, chunk: 256, onProgress: () => (started = true) });
    const queued = solver.solve({ publicKey: key(4), clusterId: 'demo', epoch: EPOCH, difficulty: 4 });
    while (!started) await new Promise((r) => setTimeout(r, 1));
    solver.terminate();
    expect(await rejectionCode(long)).to.equal('POW_ABORTED');
    expect(await rejectionCode(queued)).to.equal('POW_ABORTED');
    expect(await rejectionCode(solver.solve({ publicKey: key(5), clusterId: 'demo', epoch: EPOCH, difficulty: 4 }))).to.equal('POW_ABORTED');
  });

  it('rejects bad options and parameters with POW_BAD_PARAMS', async () => {
    expect(() => new PowSolver({ chunk: 0 })).to.throw(KpcError).with.property('code', 'POW_BAD_PARAMS');
    const solver = new PowSolver();
    expect(await rejectionCode(solver.solve({ publicKey: new Uint8Array(2), clusterId: 'demo', epoch: EPOCH }))).to.equal('POW_BAD_PARAMS');
    expect(await rejectionCode(solver.solve({ publicKey: key(1), clusterId: 'demo', epoch: EPOCH, difficulty: 99 }))).to.equal('POW_BAD_PARAMS');
  });
});
