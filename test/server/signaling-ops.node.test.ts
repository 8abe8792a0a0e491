// Operational behaviour: configurable limits, heartbeat, HTTP endpoints, shutdown.
import { describe, it, before, after } from 'node:test';
import { expect } from 'chai';
import WebSocket from 'ws';
import { connect } from 'node:net';
import { startSignalingServer, type SignalingServer } from '../../server/signaling-server.mjs';
import { TestClient, expectError, start, waitFor, withTimeout, WAIT_MS, type Frame } from './helpers.js';

describe('signaling server: limits', () => {
  it('honours custom frame, topic and topic-length limits', async () => {
    const { server } = await start({ maxFrameBytes: 1024, maxTopicsPerConnection: 2, maxTopicLength: 8 });
    try {
      const c = await TestClient.connect(server.url);
      await expectError(c, { type: 'subscribe', topics: ['123456789'] }, 'topic-too-long');
      await expectError(c, { type: 'subscribe', topics: ['a', 'b', 'c'] }, 'too-many-topics');
      await c.subscribe('12345678', 'b');
      c.send({ type: 'publish', topic: 'b', data: 'z'.repeat(1024) });
      expect((await c.waitClosed()).code).to.equal(1009);
    } finally {
      await server.close();
    }
  });

  it('refuses connections beyond maxConnections with HTTP 503 and keeps serving the others', async () => {
    const { server } = await start({ maxConnections: 2 });
    try {
      const [a, b] = [await TestClient.connect(server.url), await TestClient.connect(server.url)];
      let err: unknown;
      try {
        await TestClient.connect(server.url);
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.include('HTTP 503');
      expect(server.stats().rejectedConnections).to.equal(1);
      await b.subscribe('r');
      a.send({ type: 'publish', topic: 'r', data: 1 });
      expect(await b.next()).to.include({ data: 1, clients: 1 });
      a.close();
      await waitFor(() => server.stats().connections === 1, 'a slot to free up');
      const c = await TestClient.connect(server.url);
      c.close();
      b.close();
    } finally {
      await server.close();
    }
  });

  it('rate-limits messages per connection with rate-limited error frames', async () => {
    const { server } = await start({ messagesPerSecond: 1, messageBurst: 3 });
    try {
      const c = await TestClient.connect(server.url);
      for (let i = 0; i < 8; i++) c.send({ type: 'ping' });
      const got: Frame[] = [];
      for (let i = 0; i < 8; i++) got.push(await c.next());
      // The bucket starts full: the first three always pass.
      expect(got.slice(0, 3)).to.deep.equal([{ type: 'pong' }, { type: 'pong' }, { type: 'pong' }]);
      expect(got.some((f) => f.type === 'error' && f.code === 'rate-limited')).to.equal(true);
      c.close();
    } finally {
      await server.close();
    }
  });

  it('drops a subscriber that stops reading once its backlog exceeds maxBufferedBytes', { timeout: 60_000 }, async () => {
    const { server, logs } = await start({ maxBufferedBytes: 256 * 1024, messagesPerSecond: 1_000_000, messageBurst: 1_000_000 });
    try {
      const slow = await TestClient.connect(server.url);
      const fast = await TestClient.connect(server.url);
      const pub = await TestClient.connect(server.url);
      await slow.subscribe('stream');
      await fast.subscribe('stream');
      // Stop reading: the kernel buffers fill, then the server's ws send buffer grows.
      (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const chunk = JSON.stringify({ type: 'publish', topic: 'stream', data: 'p'.repeat(32 * 1024) });
      const dropped = () => logs.some((l) => l.msg === 'slow consumer dropped');
      let sent = 0;
      while (!dropped()) {
        if (sent > 20_000) throw new Error('slow consumer never dropped');
        for (let i = 0; i < 20; i++, sent++) pub.ws.send(chunk);
        // Drain the healthy subscriber so only the paused one backs up.
        for (let i = 0; i < 20; i++) await fast.next();
      }
      await waitFor(() => server.stats().connections === 2, 'the slow consumer to be gone');
      pub.send({ type: 'publish', topic: 'stream', data: 'still-here' });
      for (;;) if ((await fast.next()).data === 'still-here') break;
      fast.close();
      pub.close();
    } finally {
      await server.close();
    }
  });

  it('pings clients and terminates one that never pongs', async () => {
    const { server } = await start({ pingIntervalMs: 50 });
    try {
      const mute = await TestClient.connect(server.url, { autoPong: false });
      const healthy = await TestClient.connect(server.url);
      let pings = 0;
      const threePings = new Promise<void>((resolve) => healthy.ws.on('ping', () => ++pings === 3 && resolve()));
      expect((await mute.waitClosed()).code).to.equal(1006); // terminated, no close frame
      await withTimeout(threePings, 'three pings');
      // Three pings means it survived two liveness sweeps.
      expect(healthy.ws.readyState).to.equal(WebSocket.OPEN);
      healthy.close();
    } finally {
      await server.close();
    }
  });

  it('rejects invalid options at start-up', async () => {
    for (const bad of [{ maxFrameBytes: 0 }, { maxTopicsPerConnection: -1 }, { maxConnections: 1.5 }, { port: 70_000 }]) {
      let err: unknown;
      try {
        const s = await startSignalingServer({ log: false, port: 0, ...bad });
        await s.close();
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).to.be.instanceOf(RangeError);
    }
  });
});

describe('signaling server: HTTP', () => {
  let server: SignalingServer;
  before(async () => ({ server } = await start()));
  after(() => server.close());

  it('serves GET /health as JSON', async () => {
    const c = await TestClient.connect(server.url);
    await c.subscribe('h1', 'h2');
    const res = await fetch(`${server.httpUrl}/health`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/json');
    const body = await res.json();
    expect(body).to.include({ status: 'ok', connections: 1, topics: 2, messagesRelayed: 0 });
    expect(body.uptimeS).to.be.a('number').and.at.least(0);
    c.close();
  });

  it("answers / with y-webrtc's 'okay', other paths with 404, other methods with 405", async () => {
    const root = await fetch(`${server.httpUrl}/`);
    expect([root.status, await root.text()]).to.deep.equal([200, 'okay']);
    expect((await fetch(`${server.httpUrl}/nope`)).status).to.equal(404);
    expect((await fetch(`${server.httpUrl}/health`, { method: 'POST' })).status).to.equal(405);
  });
});

describe('signaling server: close()', () => {
  it('closes every client with 1001, refuses new ones, and is idempotent', async () => {
    const { server } = await start();
    const clients = [await TestClient.connect(server.url), await TestClient.connect(server.url)];
    await clients[0]!.subscribe('x');
    const first = server.close();
    const second = server.close();
    await withTimeout(Promise.all([first, second]), 'close()');
    for (const c of clients) expect((await c.waitClosed()).code).to.equal(1001);
    await server.close(); // a third call after completion also resolves
    let err: unknown;
    try {
      await TestClient.connect(server.url);
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/ECONNREFUSED/);
  });

  it('does not wait forever for a client that ignores the close handshake', { timeout: WAIT_MS * 2 }, async () => {
    const { server } = await start({ shutdownTimeoutMs: 200 });
    // A raw socket that completes the upgrade and then never answers anything.
    const sock = connect(server.port, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise<void>((resolve) => sock.once('data', () => resolve()));
    await waitFor(() => server.stats().connections === 1, 'the raw client to count');
    await withTimeout(server.close(), 'close() with a mute client');
    sock.destroy();
  });
});
