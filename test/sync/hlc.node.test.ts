/** Hybrid logical clock: monotonic under any physical clock, bounded against skew. */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { KpcError } from '../../src/errors.js';
import { HLC_MAX_COUNTER, HybridClock, compareHlc, type HlcTimestamp } from '../../src/sync/index.js';

const SKEW = 60_000;

/** One step of a scenario: move the physical clock, then tick or observe a remote reading. */
const stepArb = fc.record({
  clockJump: fc.oneof(fc.integer({ min: -5_000, max: 5_000 }), fc.constantFrom(0, 0, 0, -100_000, 200_000)),
  op: fc.oneof(
    fc.constant({ type: 'tick' as const }),
    fc.record({
      type: fc.constant('observe' as const),
      // Remote clocks: anywhere from far behind to beyond the skew bound.
      offset: fc.integer({ min: -3 * SKEW, max: 2 * SKEW }),
      counter: fc.nat(HLC_MAX_COUNTER),
    }),
  ),
});

describe('compareHlc', () => {
  it('orders by wall, then counter', () => {
    expect(compareHlc({ wall: 1, counter: 9 }, { wall: 2, counter: 0 })).to.be.below(0);
    expect(compareHlc({ wall: 2, counter: 1 }, { wall: 2, counter: 0 })).to.be.above(0);
    expect(compareHlc({ wall: 2, counter: 1 }, { wall: 2, counter: 1 })).to.equal(0);
  });

  it('is a total order (antisymmetric, transitive)', () => {
    const tsArb = fc.record({ wall: fc.nat(5), counter: fc.nat(3) });
    fc.assert(
      fc.property(tsArb, tsArb, tsArb, (a, b, c) => {
        expect(Math.sign(compareHlc(a, b))).to.equal(-Math.sign(compareHlc(b, a)));
        if (compareHlc(a, b) <= 0 && compareHlc(b, c) <= 0) expect(compareHlc(a, c)).to.be.at.most(0);
      }),
    );
  });
});

describe('HybridClock', () => {
  it('every tick is above every timestamp issued or accepted, under random skewed clocks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.array(stepArb, { maxLength: 200 }), (start, steps) => {
        let physical = start;
        const clock = new HybridClock(() => physical, { maxSkewMs: SKEW });
        let highest: HlcTimestamp = { wall: 0, counter: 0 };
        for (const { clockJump, op } of steps) {
          physical = Math.max(0, physical + clockJump);
          if (op.type === 'tick') {
            const ts = clock.tick();
            expect(compareHlc(ts, highest), 'tick not above everything seen').to.be.above(0);
            expect(ts.wall).to.be.at.least(physical);
            expect(ts.counter).to.be.within(0, HLC_MAX_COUNTER);
            highest = ts;
          } else {
            const remote = { wall: Math.max(0, physical + op.offset), counter: op.counter };
            const before = clock.last;
            if (remote.wall > physical + SKEW) {
              expect(() => clock.observe(remote)).to.throw(KpcError).with.property('code', 'SYNC_CLOCK_SKEW');
              expect(clock.last, 'a rejected observe changed the clock').to.deep.equal(before);
            } else {
              clock.observe(remote);
              if (compareHlc(remote, highest) > 0) highest = remote;
            }
          }
          // The clock holds exactly the greatest timestamp issued or accepted: nothing from rejected ones.
          expect(clock.last).to.deep.equal({ wall: highest.wall, counter: highest.counter });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a remote timestamp beyond the skew bound and changes nothing', () => {
    const clock = new HybridClock(() => 1_000_000, { maxSkewMs: 1000 });
    clock.observe({ wall: 1_001_000, counter: 5 }); // exactly at the bound: accepted
    expect(clock.last).to.deep.equal({ wall: 1_001_000, counter: 5 });
    const err = (() => {
      try {
        clock.observe({ wall: 1_001_001, counter: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).to.be.instanceOf(KpcError).with.property('code', 'SYNC_CLOCK_SKEW');
    expect(clock.last).to.deep.equal({ wall: 1_001_000, counter: 5 });
    expect(clock.tick()).to.deep.equal({ wall: 1_001_000, counter: 6 });
  });

  it('defaults to a 60 s skew bound', () => {
    const clock = new HybridClock(() => 0);
    clock.observe({ wall: 60_000, counter: 0 });
    expect(() => clock.observe({ wall: 60_001, counter: 0 })).to.throw(KpcError);
  });

  it('stays strictly increasing when the counter overflows within one millisecond', () => {
    const clock = new HybridClock(() => 5000);
    let prev = clock.tick();
    let violations = 0;
    for (let i = 0; i < HLC_MAX_COUNTER + 10; i++) {
      const ts = clock.tick();
      if (compareHlc(ts, prev) <= 0 || ts.counter > HLC_MAX_COUNTER) violations++;
      prev = ts;
    }
    expect(violations).to.equal(0);
    expect(prev).to.deep.equal({ wall: 5001, counter: 9 });
  });

  it('keeps issuing increasing timestamps when the physical clock steps back', () => {
    let t = 10_000;
    const clock = new HybridClock(() => t);
    const a = clock.tick();
    t = 2_000;
    const b = clock.tick();
    expect(compareHlc(b, a)).to.be.above(0);
    expect(b.wall).to.equal(10_000);
  });

  it('advance() moves forward without a skew check, never back', () => {
    const clock = new HybridClock(() => 0, { maxSkewMs: 0 });
    clock.advance({ wall: 9e12, counter: 1 });
    clock.advance({ wall: 5, counter: 0 });
    expect(clock.last).to.deep.equal({ wall: 9e12, counter: 1 });
  });

  it('rejects malformed timestamps and options with typed errors', () => {
    const clock = new HybridClock(() => 0);
    for (const bad of [{ wall: -1, counter: 0 }, { wall: 1.5, counter: 0 }, { wall: 0, counter: 65536 }, { wall: 2 ** 53, counter: 0 }, null]) {
      expect(() => clock.observe(bad as HlcTimestamp)).to.throw(KpcError).with.property('code', 'SYNC_BAD_DELTA');
    }
    expect(() => new HybridClock(() => 0, { maxSkewMs: -1 })).to.throw(KpcError).with.property('code', 'CONFIG_INVALID');
  });

  it('floors fractional clocks and treats broken ones as 0', () => {
    expect(new HybridClock(() => 12.9).tick()).to.deep.equal({ wall: 12, counter: 0 });
    expect(new HybridClock(() => NaN).tick()).to.deep.equal({ wall: 0, counter: 1 });
  });
});
