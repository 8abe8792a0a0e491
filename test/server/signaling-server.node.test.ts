import { describe, it, before, after } from 'node:test';
import { expect } from 'chai';
import WebSocket from 'ws';
import type { SignalingServer } from '../../server/signaling-server.mjs';
import { TestClient, expectError, start, waitFor, type LogLine } from './helpers.js';

describe('signaling server: protocol', () => {
  let server: SignalingServer;
  const open: TestClient[] = [];
  const client = async () => {
    const c = await TestClient.connect(server.url);
    open.push(c);
    return c;
  };

  before(async () => ({ server } = await start()));
  after(async () => {
    open.forEach((c) => c.close());
    await server.close();
  });

  it('reports url, httpUrl, host and the actual port', () => {
    expect(server.port).to.be.a('number').and.greaterThan(0);
    expect(server.host).to.equal('127.0.0.1');
    expect(server.url).to.equal(`ws://127.0.0.1:${server.port}`);
    expect(server.httpUrl).to.equal(`http://127.0.0.1:${server.port}`);
  });

  it('answers ping with pong', async () => {
    const a = await client();
    a.send({ type: 'ping' });
    expect(await a.next()).to.deep.equal({ type: 'pong' });
  });

  it('relays publish to every subscriber, sender included, with the subscriber count', async () => {
    const [a, b, c] = [await client(), await client(), await client()];
    for (const x of [a, b, c]) await x.subscribe('room-1');
    const payload = { type: 'publish', topic: 'room-1', data: { type: 'announce', from: 'a' }, extra: [1, 'two'] };
    a.send(payload);
    for (const x of [a, b, c]) expect(await x.next()).to.deep.equal({ ...payload, clients: 3 });
  });

  it('lets a non-subscriber publish, and overwrites a client-supplied clients field', async () => {
    const [a, b] = [await client(), await client()];
    await b.subscribe('room-2');
    a.send({ type: 'publish', topic: 'room-2', data: 'x', clients: 999 });
    expect(await b.next()).to.deep.equal({ type: 'publish', topic: 'room-2', data: 'x', clients: 1 });
    expect(await a.sync()).to.deep.equal([]);
  });

  it('ignores publishes to topics nobody subscribed to', async () => {
    const a = await client();
    a.send({ type: 'publish', topic: 'nobody-here', data: 1 });
    expect(await a.sync()).to.deep.equal([]);
  });

  it('counts a repeated subscription once', async () => {
    const [a, b] = [await client(), await client()];
    await a.subscribe('room-3', 'room-3');
    await a.subscribe('room-3');
    await b.subscribe('room-3');
    b.send({ type: 'publish', topic: 'room-3', data: 1 });
    expect((await a.next()).clients).to.equal(2);
  });

  it('stops relaying after unsubscribe and forgets empty topics', async () => {
    const [a, b] = [await client(), await client()];
    await a.subscribe('room-4', 'room-4b');
    await b.subscribe('room-4');
    const topicsBefore = server.stats().topics;
    a.send({ type: 'unsubscribe', topics: ['room-4', 'room-4b', 'never-subscribed'] });
    await a.sync();
    expect(server.stats().topics).to.equal(topicsBefore - 1); // room-4b had only a
    b.send({ type: 'publish', topic: 'room-4', data: 'after' });
    expect(await b.next()).to.include({ data: 'after', clients: 1 });
    // b's echo means the fan-out is done; a's pong comes after anything queued for a.
    expect(await a.sync()).to.deep.equal([]);
  });

  it('drops a closed connection from its topics', async () => {
    const [a, b] = [await client(), await client()];
    await a.subscribe('room-5');
    await b.subscribe('room-5');
    a.close();
    await a.waitClosed();
    await waitFor(() => server.stats().connections === open.filter((c) => c.ws.readyState === WebSocket.OPEN).length, 'server to notice the close');
    b.send({ type: 'publish', topic: 'room-5', data: 1 });
    expect((await b.next()).clients).to.equal(1);
  });

  it('accepts binary frames holding JSON, as y-webrtc does, and replies in text', async () => {
    const a = await client();
    a.ws.send(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true });
    expect(await a.next()).to.deep.equal({ type: 'pong' });
  });

  it('counts relayed messages and deliveries in stats()', async () => {
    const [a, b] = [await client(), await client()];
    await a.subscribe('room-6');
    await b.subscribe('room-6');
    const before = server.stats();
    a.send({ type: 'publish', topic: 'room-6', data: 1 });
    await a.next();
    await b.next();
    const s = server.stats();
    expect(s.messagesRelayed - before.messagesRelayed).to.equal(1);
    expect(s.deliveries - before.deliveries).to.equal(2);
  });
});

describe('signaling server: bad input', () => {
  let server: SignalingServer;
  let logs: LogLine[];
  let bystander: TestClient;
  let publisher: TestClient;
  let n = 0;

  before(async () => {
    ({ server, logs } = await start());
    bystander = await TestClient.connect(server.url);
    publisher = await TestClient.connect(server.url);
    await bystander.subscribe('lobby');
  });
  after(async () => {
    bystander.close();
    publisher.close();
    await server.close();
  });

  /** Whatever the offender did, the bystander still gets publishes. */
  async function bystanderStillReceives() {
    const data = `after-${++n}`;
    publisher.send({ type: 'publish', topic: 'lobby', data });
    expect(await bystander.next()).to.deep.equal({ type: 'publish', topic: 'lobby', data, clients: 1 });
  }

  /** A fresh offender per case, so the abuse counter of one case does not leak into the next. */
  const offender = () => TestClient.connect(server.url);

  const cases: [string, unknown, string][] = [
    ['malformed JSON', '{"type":"subscribe",', 'bad-json'],
    ['a JSON array', '[1,2]', 'bad-json'],
    ['a JSON string', '"ping"', 'bad-json'],
    ['JSON null', 'null', 'bad-json'],
    ['a missing type', { topics: ['a'] }, 'bad-field'],
    ['a numeric type', { type: 7 }, 'bad-field'],
    ['an unknown type', { type: 'subscribe-all' }, 'unknown-type'],
    ['topics not an array', { type: 'subscribe', topics: 'lobby' }, 'bad-field'],
    ['a non-string topic', { type: 'subscribe', topics: ['ok', 42] }, 'bad-field'],
    ['an empty topic', { type: 'unsubscribe', topics: [''] }, 'bad-field'],
    ['publish without topic', { type: 'publish', data: 1 }, 'bad-field'],
    ['publish with a numeric topic', { type: 'publish', topic: 1, data: 1 }, 'bad-field'],
    ['a topic name over 256 characters', { type: 'subscribe', topics: ['t'.repeat(257)] }, 'topic-too-long'],
    ['publish to an over-long topic', { type: 'publish', topic: 't'.repeat(257) }, 'topic-too-long'],
    ['65 topics in one subscribe', { type: 'subscribe', topics: Array.from({ length: 65 }, (_, i) => `t${i}`) }, 'too-many-topics'],
  ];
  for (const [name, raw, code] of cases) {
    it(`answers ${name} with ${code}, keeps the connection, logs it`, async () => {
      const c = await offender();
      const logged = logs.length;
      await expectError(c, raw, code);
      expect(logs.slice(logged).some((l) => l.level === 'warn' && l.ctx?.code === code)).to.equal(true);
      c.send({ type: 'ping' });
      expect(await c.next()).to.deep.equal({ type: 'pong' });
      await bystanderStillReceives();
      c.close();
    });
  }

  it('accepts a topic of exactly 256 characters', async () => {
    const c = await offender();
    await c.subscribe('t'.repeat(256));
    c.close();
  });

  it('enforces max topics across subscribes, all-or-nothing', async () => {
    const c = await offender();
    await c.subscribe(...Array.from({ length: 60 }, (_, i) => `many-${i}`));
    await expectError(c, { type: 'subscribe', topics: ['x1', 'x2', 'x3', 'x4', 'x5'] }, 'too-many-topics');
    // Nothing of the rejected batch was kept, so exactly 4 more still fit.
    await c.subscribe('x1', 'x2', 'x3', 'x4', 'many-0');
    await expectError(c, { type: 'subscribe', topics: ['x5'] }, 'too-many-topics');
    // Unsubscribing frees room.
    c.send({ type: 'unsubscribe', topics: ['x1'] });
    await c.subscribe('x5');
    await bystanderStillReceives();
    c.close();
  });

  it('rejects a publish too deeply nested to relay with bad-field', async () => {
    const c = await offender();
    await c.subscribe('deep');
    const deep = `{"type":"publish","topic":"deep","d":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    await expectError(c, deep, 'bad-field');
    await bystanderStillReceives();
    c.close();
  });

  it('closes a frame over 64 KiB with 1009 (Message Too Big)', async () => {
    const c = await offender();
    c.send({ type: 'publish', topic: 'lobby', data: 'x'.repeat(64 * 1024) });
    expect((await c.waitClosed()).code).to.equal(1009);
    await bystanderStillReceives();
  });

  it('accepts a frame of exactly 64 KiB', async () => {
    const c = await offender();
    const envelope = JSON.stringify({ type: 'publish', topic: 'lobby', data: '' });
    const frame = JSON.stringify({ type: 'publish', topic: 'lobby', data: 'y'.repeat(64 * 1024 - envelope.length) });
    expect(Buffer.byteLength(frame)).to.equal(64 * 1024);
    c.send(frame);
    const got = await bystander.next();
    expect(got.data).to.have.length(64 * 1024 - envelope.length);
    c.close();
  });

  it('closes invalid UTF-8 in a text frame (ws answers 1007)', async () => {
    const c = await offender();
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await c.waitClosed()).code).to.equal(1007);
    await bystanderStillReceives();
  });

  it('answers invalid UTF-8 in a binary frame with bad-json', async () => {
    const c = await offender();
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: true });
    expect(await c.next()).to.include({ type: 'error', code: 'bad-json' });
    c.close();
  });

  it('closes a connection with 1008 after more than 20 bad frames, others unaffected', async () => {
    const c = await offender();
    for (let i = 0; i < 21; i++) c.send('not json');
    for (let i = 0; i < 20; i++) expect(await c.next()).to.include({ type: 'error', code: 'bad-json' });
    const closed = await c.waitClosed();
    expect(closed.code).to.equal(1008);
    expect(logs.some((l) => l.msg === 'closing abusive connection')).to.equal(true);
    await bystanderStillReceives();
  });
});
