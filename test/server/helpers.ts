// Shared helpers for the signaling server tests: a WebSocket client that queues what it
// receives, so tests read frames in order with `next()` instead of juggling listeners.
import WebSocket from 'ws';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { startSignalingServer } from '../../server/signaling-server.mjs';

/** Generous upper bound for "wait for this event"; never an assertion about speed. */
export const WAIT_MS = 10_000;

export type Frame = Record<string, unknown> & { type: string };

export interface Closed {
  code: number;
  reason: string;
}

export class TestClient {
  readonly ws: WebSocket;
  private readonly queue: Frame[] = [];
  private waiter: (() => void) | null = null;
  /** Resolves with the close code the client saw. */
  readonly closed: Promise<Closed>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.queue.push(JSON.parse(String(data)) as Frame);
      this.waiter?.();
    });
    // Errors (e.g. the server closing on a protocol violation) surface through `closed`.
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: String(reason) });
        this.waiter?.();
      });
    });
  }

  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const c = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next received frame, waiting up to WAIT_MS; rejects if the connection closes first. */
  async next(): Promise<Frame> {
    const deadline = Date.now() + WAIT_MS;
    while (this.queue.length === 0) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('connection closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift()!;
  }

  /**
   * Ping/pong round trip. Frames from the server arrive in order, so once the pong is
   * here everything the server had queued for us before it has arrived too, and every
   * frame we sent before the ping has been processed. Returns what arrived before the pong.
   */
  async sync(): Promise<Frame[]> {
    this.send({ type: 'ping' });
    const before: Frame[] = [];
    for (;;) {
      const f = await this.next();
      if (f.type === 'pong') return before;
      before.push(f);
    }
  }

  /** Subscribes and waits until the server has processed it. */
  async subscribe(...topics: string[]): Promise<void> {
    this.send({ type: 'subscribe', topics });
    const extra = await this.sync();
    if (extra.length > 0) throw new Error(`unexpected frames while subscribing: ${JSON.stringify(extra)}`);
  }

  /** Resolves with the close code, or rejects after WAIT_MS. */
  waitClosed(): Promise<Closed> {
    return withTimeout(this.closed, 'close');
  }

  close(): void {
    this.ws.close();
  }
}

export function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]);
}

/** Polls `cond` until true (for server-side state that has no event), up to WAIT_MS. */
export async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A free loopback port (for servers, like y-webrtc's, that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export type LogLine = { level: string; msg: string; ctx?: Record<string, unknown> };

/** Starts a quiet server on a random port, collecting its log lines. */
export async function start(opts: Parameters<typeof startSignalingServer>[0] = {}) {
  const logs: LogLine[] = [];
  const server = await startSignalingServer({
    host: '127.0.0.1',
    port: 0,
    log: (level, msg, ctx) => logs.push({ level, msg, ctx }),
    ...opts,
  });
  return { server, logs };
}

/** Sends `raw` and expects exactly one error frame with `code` back. */
export async function expectError(c: TestClient, raw: unknown, code: string): Promise<Frame> {
  c.send(raw);
  const f = await c.next();
  expect(f, JSON.stringify(f)).to.include({ type: 'error', code });
  expect(f.message).to.be.a('string').and.not.equal('');
  return f;
}
