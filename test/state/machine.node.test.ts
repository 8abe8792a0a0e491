import { describe, it } from 'node:test';
import { expect } from 'chai';
import { KpcError } from '../../src/errors.js';
import { NODE_STATES, StateMachine, canTransition, pathToOffline, type NodeState, type StateChange } from '../../src/state/index.js';

/** Spec §3, "Valid State Transitions", typed in again independently of the implementation. */
const SPEC: Record<NodeState, NodeState[]> = {
  BOOTSTRAP: ['DISCOVERING'],
  DISCOVERING: ['CONNECTING', 'OFFLINE'],
  CONNECTING: ['SYNCING', 'DEGRADED'],
  SYNCING: ['READY', 'RECOVERING'],
  READY: ['DEGRADED', 'RECOVERING', 'OFFLINE'],
  DEGRADED: ['RECOVERING', 'OFFLINE'],
  RECOVERING: ['READY', 'DEGRADED', 'OFFLINE'],
  OFFLINE: [],
};

describe('state machine (spec §3)', () => {
  it('has the eight states of the spec', () => {
    expect([...NODE_STATES].sort()).to.deep.equal(Object.keys(SPEC).sort());
  });

  for (const from of NODE_STATES) {
    for (const to of NODE_STATES) {
      const allowed = SPEC[from].includes(to);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'rejected'}`, () => {
        const m = new StateMachine({ initial: from });
        const events: StateChange[] = [];
        m.addEventListener('statechange', (e) => events.push((e as CustomEvent<StateChange>).detail));
        expect(canTransition(from, to)).to.equal(allowed);
        if (allowed) {
          const change = m.transition(to, 'test');
          expect(m.state).to.equal(to);
          expect(events).to.deep.equal([change]);
          expect(change).to.include({ from, to, cause: 'test' });
        } else {
          let error: unknown;
          try {
            m.transition(to, 'test');
          } catch (e) {
            error = e;
          }
          expect(error).to.be.instanceOf(KpcError);
          expect((error as KpcError).code).to.equal('STATE_INVALID_TRANSITION');
          expect(m.state, 'state unchanged').to.equal(from);
          expect(events, 'no event').to.have.length(0);
          expect(m.tryTransition(to, 'test')).to.equal(false);
        }
      });
    }
  }

  it('pathToOffline gives a legal path to OFFLINE from every state', () => {
    for (const from of NODE_STATES) {
      const m = new StateMachine({ initial: from });
      for (const to of pathToOffline(from)) m.transition(to, 'test');
      expect(m.state).to.equal('OFFLINE');
    }
  });

  it('stamps each transition with the injected clock and keeps a bounded history', () => {
    let t = 1000;
    const m = new StateMachine({ now: () => t++, historyLimit: 3 });
    m.transition('DISCOVERING', 'a');
    m.transition('CONNECTING', 'b');
    m.transition('SYNCING', 'c');
    m.transition('READY', 'd');
    expect(m.history.map((c) => c.at)).to.deep.equal([1001, 1002, 1003]);
    expect(m.history.map((c) => c.cause)).to.deep.equal(['b', 'c', 'd']);
  });
});
