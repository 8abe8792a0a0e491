// The simulator's parts: PRNG, virtual-time scheduler, simulated links and signaling.
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { Prng, latency } from '../../src/sim/prng.js';
import { Scheduler, SimRuntime, SIM_EPOCH_MS } from '../../src/sim/scheduler.js';
import { SimNetwork, type NetworkConfig, type SimLink } from '../../src/sim/network.js';
import { SimSignalingServer } from '../../src/sim/signaling.js';
import { TraceDigest } from '../../src/sim/digest.js';
import type { SignalingDelivery } from '../../src/mesh/signaling.js';

const draws = (r: Prng, n = 8) => Array.from({ length: n }, () => r.u32());

describe('sim/prng', () => {
  it('is a pure function of the seed, and forks do not depend on the parent’s draws', () => {
    expect(draws(Prng.from(7))).to.deep.equal(draws(Prng.from('7')));
    expect(draws(Prng.from(7))).to.not.deep.equal(draws(Prng.from(8)));
    const a = Prng.from(7);
    const b = Prng.from(7);
    draws(b, 100);
    expect(draws(a.fork('x'))).to.deep.equal(draws(b.fork('x')));
    expect(draws(a.fork('x'))).to.not.deep.equal(draws(a.fork('y')));
  });

  it('draws in range, and chance(0)/chance(1) consume nothing', () => {
    const r = Prng.from('range');
    for (let i = 0; i < 10_000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).to.equal(true);
      const k = r.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).to.equal(true);
    }
    const p = Prng.from(1);
    const q = Prng.from(1);
    expect(p.chance(0)).to.equal(false);
    expect(p.chance(1)).to.equal(true);
    expect(p.u32()).to.equal(q.u32());
    expect(p.shuffle([1, 2, 3, 4, 5]).sort()).to.deep.equal([1, 2, 3, 4, 5]);
    expect(() => p.pick([])).to.throw(RangeError);
  });

  it('latency models have the documented means', () => {
    const r = Prng.from('lat');
    const mean = (f: (r: Prng) => number) => Array.from({ length: 20_000 }, () => f(r)).reduce((a, b) => a + b, 0) / 20_000;
    expect(mean(latency.shiftedExp(25, 50))).to.be.closeTo(50, 1.5);
    expect(mean(latency.normal(40, 5))).to.be.closeTo(40, 0.5);
    expect(mean(latency.uniform(10, 20))).to.be.closeTo(15, 0.3);
    expect(mean(latency.fixed(3))).to.equal(3);
    expect(Math.min(...Array.from({ length: 1000 }, () => latency.shiftedExp(25, 50)(r)))).to.be.at.least(25);
  });
});

describe('sim/scheduler', () => {
  it('runs events by time, then insertion order, and skips cancelled ones', async () => {
    const s = new Scheduler();
    const seen: string[] = [];
    s.at(10, () => void seen.push('b'));
    s.at(5, () => void seen.push('a'));
    s.at(10, () => void seen.push('c'));
    s.cancel(s.at(7, () => void seen.push('x')));
    await s.runUntil(100);
    expect(seen).to.deep.equal(['a', 'b', 'c']);
    expect(s.now).to.equal(100);
  });

  it('lets every microtask of an event settle before the next event', async () => {
    const s = new Scheduler();
    let deep = 0;
    s.at(1, () => {
      const chain = async (n: number): Promise<void> => {
        await Promise.resolve();
        deep = n;
        if (n < 20) await chain(n + 1);
      };
      void chain(1);
      queueMicrotask(() => queueMicrotask(() => (deep += 0)));
    });
    let seenAt2 = -1;
    s.at(1, () => void (seenAt2 = deep));
    await s.runUntil(5);
    expect(seenAt2).to.equal(20);
  });

  it('gives each node a runtime: skewed clock, timers in virtual time, own random stream, kill', async () => {
    const s = new Scheduler();
    const rt = new SimRuntime(s, 0, Prng.from(1), 1500);
    expect(rt.now()).to.equal(SIM_EPOCH_MS + 1500);
    const fired: number[] = [];
    rt.setTimeout(() => fired.push(s.now), 100);
    const iv = rt.setInterval(() => fired.push(s.now), 40);
    rt.setTimeout(() => rt.clearTimeout(iv), 130);
    await s.runUntil(1000);
    expect(fired).to.deep.equal([40, 80, 100, 120]);
    expect(rt.random()).to.equal(Prng.from(1).next());
    rt.setTimeout(() => fired.push(-1), 10);
    rt.kill();
    rt.setTimeout(() => fired.push(-2), 10);
    await s.runUntil(2000);
    expect(fired).to.not.include(-1).and.not.include(-2);
    expect(rt.armedTimers).to.equal(0);
  });

  it('records errors thrown by events, in microtasks and as unhandled rejections, by owner', async () => {
    const s = new Scheduler();
    s.at(1, () => {
      throw new Error('sync');
    }, 3);
    s.at(2, () => queueMicrotask(() => {
      throw new Error('micro');
    }), 4);
    s.at(3, () => void Promise.reject(new Error('rejected')), 5);
    await s.runUntil(10);
    expect(s.errors.map((e) => [e.owner, (e.error as Error).message])).to.deep.equal([[3, 'sync'], [4, 'micro'], [5, 'rejected']]);
  });

  it('digests: equal inputs give equal digests, any change a different one', () => {
    const d = () => new TraceDigest().num(1.5).str('abc').bytes(new Uint8Array([1, 2, 3]));
    expect(d().hex()).to.equal(d().hex());
    expect(d().hex()).to.not.equal(d().word(0).hex());
    expect(new TraceDigest().str('ab').hex()).to.not.equal(new TraceDigest().str('ba').hex());
  });
});

const netConfig = (over: Partial<NetworkConfig> = {}): NetworkConfig => ({
  latency: latency.fixed(10),
  signalingLatency: latency.fixed(5),
  drop: 0,
  duplicate: 0,
  reorder: 0,
  reorderMeanMs: 10,
  handshakeRtts: 1,
  linkFailMs: 1_000,
  candidates: 1,
  ...over,
});

/** Two endpoints with a negotiated link between them (signals relayed by hand). */
async function pair(over: Partial<NetworkConfig> = {}) {
  const sched = new Scheduler();
  const net = new SimNetwork(sched, Prng.from('net'), netConfig(over));
  const a = net.revive((net.endpoint('a', 0), 'a'));
  const b = net.revive((net.endpoint('b', 1), 'b'));
  const la = net.factory(a).create('b', true) as SimLink;
  const lb = net.factory(b).create('a', false) as SimLink;
  const log: string[] = [];
  la.onSignal = (d) => lb.signal(d);
  lb.onSignal = (d) => la.signal(d);
  la.onOpen = () => log.push(`a open ${sched.now}`);
  lb.onOpen = () => log.push(`b open ${sched.now}`);
  const got: Uint8Array[] = [];
  lb.onMessage = (m) => got.push(m);
  la.onClose = (r) => log.push(`a closed: ${r}`);
  lb.onClose = (r) => log.push(`b closed: ${r}`);
  return { sched, net, la, lb, log, got };
}

describe('sim/network links', () => {
  it('negotiate offer → answer, open both ends, and deliver FIFO copies', async () => {
    const { sched, la, lb, log, got } = await pair();
    await sched.runUntil(100);
    expect(log).to.deep.equal(['a open 20', 'b open 30']);
    expect(la.open && lb.open).to.equal(true);
    expect(la.channelInfo()).to.deep.include({ ordered: true, maxRetransmits: 3 });
    const msg = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < 5; i++) la.send(Uint8Array.of(i));
    la.send(msg);
    msg[0] = 9; // the sender reusing its buffer must not change what is delivered
    await sched.runUntil(200);
    expect(got.map((m) => m[0])).to.deep.equal([0, 1, 2, 3, 4, 1]);
  });

  it('lose everything with drop = 1, and throw MESH_CLOSED when not open', async () => {
    const { sched, la, got } = await pair({ drop: 1 });
    expect(() => la.send(new Uint8Array(1))).to.throw().with.property('code', 'MESH_CLOSED');
    await sched.runUntil(100);
    la.send(new Uint8Array(1));
    await sched.runUntil(200);
    expect(got).to.have.length(0);
    expect(la.ep.traffic.linkLost).to.equal(1);
  });

  it('fail a link whose path is cut by a partition after linkFailMs, and close the far end on close()', async () => {
    const p = await pair();
    await p.sched.runUntil(100);
    p.net.partition([['a'], ['b']]);
    await p.sched.runUntil(1_200);
    expect(p.log.slice(2)).to.deep.equal(['a closed: ice failed: path cut', 'b closed: ice failed: path cut']);
    const q = await pair();
    await q.sched.runUntil(100);
    q.la.close();
    await q.sched.runUntil(200);
    expect(q.log.slice(2)).to.deep.equal(['a closed: closed locally', 'b closed: channel closed']);
  });

  it('never open across a partition; a crashed node’s peer fails after linkFailMs', async () => {
    const p = await pair();
    p.net.partition([['a'], ['b']]);
    await p.sched.runUntil(500);
    expect(p.la.open || p.lb.open).to.equal(false);
    const q = await pair();
    await q.sched.runUntil(100);
    q.net.crash('b');
    await q.sched.runUntil(1_200);
    expect(q.log.slice(2)).to.deep.equal(['a closed: ice failed: peer gone']);
  });
});

describe('sim/signaling', () => {
  it('delivers a publish to every subscriber including the sender, and redials after an outage', async () => {
    const sched = new Scheduler();
    const net = new SimNetwork(sched, Prng.from('sig'), netConfig());
    const server = new SimSignalingServer(net, 'ws://s');
    const chans = ['a', 'b', 'c'].map((id, i) => server.connect(net.revive((net.endpoint(id, i), id))));
    const got: string[] = [];
    const status: string[] = [];
    chans.forEach((c, i) => {
      c.onDelivery = (d: SignalingDelivery) => got.push(`${i}:${d.topic}:${String(d.data)}`);
      c.onStatus = (up) => status.push(`${i}:${up}`);
      c.subscribe(i < 2 ? ['t'] : ['other']);
    });
    await sched.runUntil(100);
    expect(status).to.deep.equal(['0:true', '1:true', '2:true']);
    chans[0].publish('t', 'hello');
    await sched.runUntil(200);
    expect(got.sort()).to.deep.equal(['0:t:hello', '1:t:hello']);
    server.setUp(false);
    expect(chans.every((c) => !c.connected)).to.equal(true);
    chans[0].publish('t', 'lost');
    await sched.runUntil(5_000);
    server.setUp(true);
    await sched.runUntil(30_000);
    expect(chans.every((c) => c.connected)).to.equal(true);
    chans[1].publish('t', 'back');
    await sched.runUntil(31_000);
    expect(got.filter((g) => g.endsWith('back')).sort()).to.deep.equal(['0:t:back', '1:t:back']);
    expect(got.some((g) => g.endsWith('lost'))).to.equal(false);
  });
});
