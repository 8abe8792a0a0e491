import { sha256 } from '@noble/hashes/sha2.js';
import { expect } from 'chai';
import { isKpcError } from '../../src/errors.js';
import { PowSolver, decodePowProof, encodePowProof, epochOf, piHexDigits, solveProof, verifyProof, type PowProgress } from '../../src/pow/index.js';
import { rejection } from '../helpers/rejection.js';

// Mocha globals, provided by web-test-runner.
declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => void | Promise<void>) => void;

const key = (i: number) => sha256(new Uint8Array([0x42, i]));

describe('proof-of-π in Chromium', () => {
  it('computes π digits in the page', () => {
    expect(piHexDigits(1, 16)).to.equal('243F6A8885A308D3');
  });

  it('solves in a real Worker with progress events; the page verifies the proof', async () => {
    const solver = new PowSolver({ chunk: 256 });
    try {
      expect(solver.inThread).to.equal(false);
      const now = Date.now();
      const params = { publicKey: key(1), clusterId: 'browser', epoch: epochOf(now), difficulty: 12 };
      const events: PowProgress[] = [];
      const perCall: number[] = [];
      solver.onprogress = (e) => events.push(e);
      const proof = await solver.solve({ ...params, onProgress: (e) => perCall.push(e.attempts) });
      expect(solver.inThread, 'the Worker really ran').to.equal(false);
      // The Worker's kernel is the in-thread one: same sequential search, same nonce.
      expect(proof).to.deep.equal(await solveProof(params));
      expect(events.length).to.be.greaterThan(1);
      expect(events.map((e) => e.attempts)).to.deep.equal(perCall);
      expect(events.at(-1)).to.deep.equal({ attempts: proof.nonce + 1, difficulty: 12, expectedAttempts: 4096 });
      const wire = decodePowProof(encodePowProof(proof));
      const verdict = verifyProof(wire, { publicKey: key(1), clusterId: 'browser', now, minDifficulty: 12 });
      expect(verdict.leadingZeros).to.be.at.least(12);
      expect(verdict.digits).to.equal(piHexDigits(verdict.position, 8));
    } finally {
      solver.terminate();
    }
  });

  it('aborts a running Worker solve with POW_ABORTED and keeps working', async () => {
    const solver = new PowSolver({ chunk: 1024 });
    try {
      const ctrl = new AbortController();
      const epoch = epochOf(Date.now());
      const run = solver.solve({ publicKey: key(2), clusterId: 'browser', epoch, difficulty: 60, signal: ctrl.signal, onProgress: () => ctrl.abort() });
      const err = await rejection(run);
      expect(isKpcError(err, 'POW_ABORTED'), String(err)).to.equal(true);
      const proof = await solver.solve({ publicKey: key(3), clusterId: 'browser', epoch, difficulty: 10 });
      expect(solver.inThread).to.equal(false);
      expect(verifyProof(proof, { publicKey: key(3), clusterId: 'browser', now: Date.now(), minDifficulty: 10 }).leadingZeros).to.be.at.least(10);
    } finally {
      solver.terminate();
    }
  });

  it('terminate() rejects the running solve with POW_ABORTED', async () => {
    const solver = new PowSolver();
    const run = solver.solve({ publicKey: key(4), clusterId: 'browser', epoch: 1, difficulty: 60, onProgress: () => solver.terminate() });
    const err = await rejection(run);
    expect(isKpcError(err, 'POW_ABORTED'), String(err)).to.equal(true);
  });

  it('falls back to the page thread when the Worker cannot start', async () => {
    const original = globalThis.Worker;
    globalThis.Worker = class {
      constructor() {
        throw new DOMException('blocked by CSP', 'SecurityError');
      }
    } as unknown as typeof Worker;
    try {
      const solver = new PowSolver();
      const proof = await solver.solve({ publicKey: key(5), clusterId: 'browser', epoch: 7, difficulty: 8 });
      expect(solver.inThread).to.equal(true);
      expect(proof).to.deep.equal(await solveProof({ publicKey: key(5), clusterId: 'browser', epoch: 7, difficulty: 8 }));
    } finally {
      globalThis.Worker = original;
    }
  });

  it('falls back to the page thread when the Worker crashes or answers a wrong nonce', async () => {
    const original = globalThis.Worker;
    for (const behaviour of ['crash', 'lie'] as const) {
      globalThis.Worker = class {
        onmessage: ((ev: { data: unknown }) => void) | null = null;
        onerror: ((ev: { preventDefault(): void; message: string }) => void) | null = null;
        postMessage(m: { id: number }) {
          setTimeout(() => {
            if (behaviour === 'crash') this.onerror?.({ preventDefault() {}, message: 'boom' });
            else this.onmessage?.({ data: { op: 'done', id: m.id, nonce: 0 } });
          }, 0);
        }
        terminate() {}
      } as unknown as typeof Worker;
      try {
        const solver = new PowSolver();
        const params = { publicKey: key(6), clusterId: 'browser', epoch: 7, difficulty: 14 };
        const proof = await solver.solve(params);
        expect(solver.inThread, behaviour).to.equal(true);
        expect(proof.nonce, behaviour).to.be.greaterThan(0);
        expect(proof).to.deep.equal(await solveProof(params));
      } finally {
        globalThis.Worker = original;
      }
    }
  });
});
