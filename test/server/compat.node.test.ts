// The same protocol expectations, run against our server and against y-webrtc's own
// (node_modules/y-webrtc/bin/server.js), so "compatible with y-webrtc" is checked, not assumed.
import { describe, it, before, after } from 'node:test';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startSignalingServer } from '../../server/signaling-server.mjs';
import { TestClient, freePort, withTimeout } from './helpers.js';

const require = createRequire(import.meta.url);
// y-webrtc's "exports" map hides bin/, so `require.resolve('y-webrtc/bin/server.js')` throws
// ERR_PACKAGE_PATH_NOT_EXPORTED; locate it from the package's main entry (dist/y-webrtc.cjs).
const Y_WEBRTC_SERVER = join(dirname(require.resolve('y-webrtc')), '..', 'bin', 'server.js');

interface Target {
  url: string;
  stop(): Promise<void>;
}

async function ours(): Promise<Target> {
  const s = await startSignalingServer({ port: 0, log: false });
  return { url: s.url, stop: () => s.close() };
}

async function yWebrtc(): Promise<Target> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [Y_WEBRTC_SERVER], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`y-webrtc server exited with ${code}`)));
      child.stdout!.on('data', (d) => String(d).includes('Signaling server running') && resolve());
    }),
    'y-webrtc server start',
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `ws://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

for (const [name, startTarget] of [['kpc server', ours], ['y-webrtc server', yWebrtc]] as const) {
  describe(`y-webrtc protocol against the ${name}`, () => {
    let target: Target;
    const open: TestClient[] = [];
    const client = async () => {
      const c = await TestClient.connect(target.url);
      open.push(c);
      return c;
    };
    before(async () => (target = await startTarget()));
    after(async () => {
      open.forEach((c) => c.close());
      await Promise.all(open.map((c) => c.waitClosed()));
      await target.stop();
    });

    it('two y-webrtc style peers both receive an announce', async () => {
      const [a, b] = [await client(), await client()];
      // y-webrtc's SignalingConn: subscribe to the room, then announce into it.
      a.send({ type: 'subscribe', topics: ['kpc-room'] });
      b.send({ type: 'subscribe', topics: ['kpc-room'] });
      await a.sync();
      await b.sync();
      const announce = { type: 'publish', topic: 'kpc-room', data: { type: 'announce', from: 'x' } };
      a.send(announce);
      expect(await a.next()).to.deep.equal({ ...announce, clients: 2 });
      expect(await b.next()).to.deep.equal({ ...announce, clients: 2 });
    });

    it('relays an opaque kpc payload unchanged', async () => {
      const [a, b] = [await client(), await client()];
      await b.subscribe('kpc-signed');
      const msg = { type: 'publish', topic: 'kpc-signed', data: { v: 1, body: 'base64==', sig: 'ed25519…', nested: { n: [1, null, true] } } };
      a.send(msg);
      expect(await b.next()).to.deep.equal({ ...msg, clients: 1 });
    });

    it('stops relaying to a peer after it unsubscribes', async () => {
      const [a, b] = [await client(), await client()];
      await a.subscribe('kpc-leave');
      await b.subscribe('kpc-leave');
      a.send({ type: 'unsubscribe', topics: ['kpc-leave'] });
      await a.sync();
      b.send({ type: 'publish', topic: 'kpc-leave', data: 1 });
      expect(await b.next()).to.include({ data: 1, clients: 1 });
      expect(await a.sync()).to.deep.equal([]);
    });

    it('answers ping with pong', async () => {
      const a = await client();
      a.send({ type: 'ping' });
      expect(await a.next()).to.deep.equal({ type: 'pong' });
    });
  });
}
