import { describe, it } from 'node:test';
import { expect } from 'chai';
import { DEFAULTS, parseFrame, resolveOptions, TokenBucket, WindowCounter } from '../../server/validate.mjs';

const frame = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('validate: parseFrame', () => {
  it('accepts the four y-webrtc message types', () => {
    expect(parseFrame(frame({ type: 'subscribe', topics: ['a', 'b'] }), DEFAULTS)).to.deep.equal({ ok: true, msg: { type: 'subscribe', topics: ['a', 'b'] } });
    expect(parseFrame(frame({ type: 'unsubscribe', topics: [] }), DEFAULTS)).to.deep.equal({ ok: true, msg: { type: 'unsubscribe', topics: [] } });
    expect(parseFrame(frame({ type: 'ping', junk: 1 }), DEFAULTS)).to.deep.equal({ ok: true, msg: { type: 'ping' } });
    const pub = { type: 'publish', topic: 't', data: { signed: 'opaque' }, to: 'x' };
    expect(parseFrame(frame(pub), DEFAULTS)).to.deep.equal({ ok: true, msg: pub });
  });

  it('accepts fragmented and ArrayBuffer input', () => {
    const parts = [Buffer.from('{"type":'), Buffer.from('"ping"}')];
    expect(parseFrame(parts, DEFAULTS).ok).to.equal(true);
    const ab = new TextEncoder().encode('{"type":"ping"}').buffer as ArrayBuffer;
    expect(parseFrame(ab, DEFAULTS).ok).to.equal(true);
  });

  it('re-checks the frame size even though ws enforces it too', () => {
    const limits = { ...DEFAULTS, maxFrameBytes: 16 };
    expect(parseFrame(frame({ type: 'ping', pad: 'xxxxxxxxxxxxxxxxxxx' }), limits)).to.include({ ok: false, code: 'oversize' });
    expect(parseFrame(frame('{"type":"ping"}'), limits).ok).to.equal(true); // 15 bytes
  });

  it('maps each kind of bad input to its code', () => {
    const cases: [unknown, string][] = [
      ['{', 'bad-json'],
      ['', 'bad-json'],
      ['123', 'bad-json'],
      ['[]', 'bad-json'],
      [{ type: null }, 'bad-field'],
      [{ type: 'nope' }, 'unknown-type'],
      [{ type: 'subscribe' }, 'bad-field'],
      [{ type: 'subscribe', topics: [null] }, 'bad-field'],
      [{ type: 'unsubscribe', topics: {} }, 'bad-field'],
      [{ type: 'publish', topic: '' }, 'bad-field'],
      [{ type: 'publish', topic: ['a'] }, 'bad-field'],
      [{ type: 'publish', topic: 'x'.repeat(DEFAULTS.maxTopicLength + 1) }, 'topic-too-long'],
      [{ type: 'subscribe', topics: Array(DEFAULTS.maxTopicsPerConnection + 1).fill('a') }, 'too-many-topics'],
    ];
    for (const [input, code] of cases) {
      const r = parseFrame(frame(input), DEFAULTS);
      expect(r, JSON.stringify(input)).to.include({ ok: false, code });
    }
    expect(parseFrame(Buffer.from([0xc3, 0x28]), DEFAULTS)).to.include({ ok: false, code: 'bad-json' });
  });

  it('keeps unknown type names short in the error message', () => {
    const r = parseFrame(frame({ type: 'x'.repeat(10_000) }), DEFAULTS);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.message.length).to.be.lessThan(100);
  });
});

describe('validate: resolveOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveOptions();
    expect(o).to.include({
      host: '127.0.0.1', port: 8787, maxFrameBytes: 65536, maxTopicsPerConnection: 64, maxTopicLength: 256, maxConnections: 10_000,
      badFrameLimit: 20, pingIntervalMs: 30_000,
    });
    expect(o.log).to.be.a('function');
  });

  it('keeps given values and rejects nonsense', () => {
    expect(resolveOptions({ port: 0, maxTopicsPerConnection: 3 })).to.include({ port: 0, maxTopicsPerConnection: 3 });
    expect(() => resolveOptions({ maxFrameBytes: 0 })).to.throw(RangeError, /maxFrameBytes/);
    expect(() => resolveOptions({ maxTopicLength: Number.NaN })).to.throw(RangeError);
    expect(() => resolveOptions({ port: -1 })).to.throw(RangeError);
    expect(() => resolveOptions({ host: '' })).to.throw(TypeError);
  });
});

describe('validate: TokenBucket and WindowCounter', () => {
  it('TokenBucket allows the burst, then refills at the rate', () => {
    const b = new TokenBucket(2, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).to.deep.equal([true, true, true, false]);
    expect(b.take(500)).to.equal(true); // +1 token after half a second at 2/s
    expect(b.take(500)).to.equal(false);
    expect([b.take(10_000), b.take(10_000), b.take(10_000), b.take(10_000)]).to.deep.equal([true, true, true, false]); // capped at burst
  });

  it('WindowCounter trips above the limit within the window only', () => {
    const w = new WindowCounter(2, 1000);
    expect([w.hit(0), w.hit(10), w.hit(20)]).to.deep.equal([false, false, true]);
    const w2 = new WindowCounter(2, 1000);
    expect([w2.hit(0), w2.hit(600), w2.hit(1200), w2.hit(1700)]).to.deep.equal([false, false, false, false]);
    for (let i = 0; i < 1000; i++) w.hit(30);
    expect(w.times.length).to.be.at.most(3); // bounded memory
  });
});
