/**
 * The node's own proof: re-solved at every epoch boundary, retried when a solve fails
 * (a lapsed proof costs the node its links), and never again once closed.
 */
import { expect } from 'chai';
import { describe, it } from 'node:test';
import { AdmissionTicket } from '../../src/admission.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { PowSolver } from '../../src/pow/index.js';
import { VirtualRuntime } from '../helpers/virtual-runtime.js';

const SETTINGS = { difficulty: 4, epochMs: 10_000, maxClockSkewMs: 0 };

describe('AdmissionTicket', () => {
  it('solves a new proof each epoch, retries a failed solve within seconds, and stops when closed', async () => {
    const rt = new VirtualRuntime(1_800_000_000_000, () => 0.5);
    const ticket = new AdmissionTicket(generateIdentity(), 'c', SETTINGS, rt);
    await ticket.solve();
    const first = ticket.proofText();
    expect(first).to.be.a('string');

    // The next epoch's solve fails once (a Worker that died, say).
    const solve = PowSolver.prototype.solve;
    let failures = 0;
    PowSolver.prototype.solve = function (this: PowSolver, ...args: Parameters<typeof solve>) {
      if (failures++ === 0) return Promise.reject(new Error('worker gone'));
      return solve.apply(this, args);
    };
    try {
      await rt.advance(SETTINGS.epochMs + 1); // the re-solve runs 1 ms past the boundary
      expect(failures).to.equal(1);
      expect(ticket.proofText()).to.equal(first);
      await rt.advance(5_000);
      // The retry solves on this thread (no Worker in Node): let it finish.
      for (let i = 0; i < 200 && ticket.proofText() === first; i++) await new Promise((r) => setTimeout(r, 5));
      const second = ticket.proofText();
      expect(second).to.not.equal(first);

      ticket.close();
      await rt.advance(3 * SETTINGS.epochMs);
      expect(ticket.proofText()).to.equal(second);
      expect(rt.pending).to.equal(0);
    } finally {
      PowSolver.prototype.solve = solve;
    }
  });
});
