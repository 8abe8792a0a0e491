// The client side of signaling admission: WebSocketSignaling (src/mesh/signaling.ts)
// with `ws` as its WebSocket, against the real server with and without admission.
import { describe, it } from 'node:test';
import { expect } from 'chai';
import WebSocket, { WebSocketServer } from 'ws';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import {
  WebSocketSignaling,
  createSignaling,
  signalingAdmitter,
  type SignalingAdmitHook,
  type SignalingDelivery,
  type WebSocketConstructor,
} from '../../src/mesh/signaling.js';
import { DIFFICULTY, clusterTopic, proofFor, verify } from './admission-helpers.js';
import { start, waitFor, withTimeout } from './helpers.js';

const WS = WebSocket as unknown as WebSocketConstructor;
const CLUSTER = 'alpha';

interface Probe {
  ch: WebSocketSignaling;
  statuses: boolean[];
  deliveries: SignalingDelivery[];
  logs: { msg: string; ctx?: Record<string, unknown> }[];
}

function channel(url: string, admit?: SignalingAdmitHook, extra: { probeTimeoutMs?: number } = {}): Probe {
  const logs: Probe['logs'] = [];
  const ch = new WebSocketSignaling(url, { WebSocket: WS, admit, log: (msg, ctx) => logs.push({ msg, ctx }), ...extra });
  const p: Probe = { ch, statuses: [], deliveries: [], logs };
  ch.onStatus = (c) => p.statuses.push(c);
  ch.onDelivery = (d) => p.deliveries.push(d);
  ch.subscribe([clusterTopic(CLUSTER)]);
  return p;
}

/** An admit hook whose proof can be set later (as a node's is, once solved). */
function node(identity: Identity = generateIdentity()) {
  let proof: string | undefined;
  return {
    identity,
    hook: signalingAdmitter(identity, () => proof),
    setProof: (p: string | undefined) => {
      proof = p;
    },
  };
}

describe('WebSocketSignaling: admission', () => {
  it('answers the challenge, reports connected once admitted, and relays between admitted nodes', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify } });
    const [n1, n2] = [node(), node()];
    n1.setProof(await proofFor(n1.identity, CLUSTER));
    n2.setProof(await proofFor(n2.identity, CLUSTER));
    const [a, b] = [channel(server.url, n1.hook), channel(server.url, n2.hook)];
    try {
      await waitFor(() => a.ch.connected && b.ch.connected, 'both admitted');
      expect(a.ch.admitted).to.equal(true);
      expect(a.statuses).to.deep.equal([true]);
      expect(server.stats().admitted).to.equal(2);
      a.ch.publish(clusterTopic(CLUSTER), 'hello');
      await waitFor(() => b.deliveries.length === 1 && a.deliveries.length === 1, 'the publish at both');
      expect(b.deliveries[0]).to.deep.equal({ topic: clusterTopic(CLUSTER), data: 'hello', source: server.url });
      expect(server.stats().badFrames).to.equal(0);
    } finally {
      a.ch.close();
      b.ch.close();
      await server.close();
    }
  });

  it('without a proof yet, publishes nothing; readmit() admits once the proof exists', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify } });
    const n = node();
    const a = channel(server.url, n.hook);
    try {
      await waitFor(() => server.stats().connections === 1, 'the connection');
      await new Promise((r) => setTimeout(r, 100));
      expect(a.ch.connected).to.equal(false);
      a.ch.publish(clusterTopic(CLUSTER), 'dropped');
      n.setProof(await proofFor(n.identity, CLUSTER));
      a.ch.readmit();
      await waitFor(() => a.ch.connected, 'admitted after readmit');
      expect(a.statuses).to.deep.equal([true]);
      expect(server.stats()).to.include({ badFrames: 0, messagesRelayed: 0 });
    } finally {
      a.ch.close();
      await server.close();
    }
  });

  it('re-admits by itself when the server challenges again at expiry', async () => {
    const epochMs = 300;
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify, epochMs, maxClockSkewMs: 0 } });
    const n = node();
    // The hook always shows a proof of the current epoch, as a node re-solving each epoch does.
    let current = { epoch: -1, text: '' };
    const refresh = async () => {
      const epoch = Math.floor(Date.now() / epochMs);
      if (current.epoch !== epoch) current = { epoch, text: await proofFor(n.identity, CLUSTER, { epochMs, epoch }) };
    };
    const timer = setInterval(() => void refresh(), 20);
    await refresh();
    const a = channel(server.url, signalingAdmitter(n.identity, () => current.text));
    try {
      await waitFor(() => a.ch.connected, 'admitted');
      // Lapses after at most 2 epochs; the channel goes down and comes back.
      await withTimeout(
        (async () => {
          while (!(a.statuses.length >= 3 && a.ch.connected)) await new Promise((r) => setTimeout(r, 20));
        })(),
        'a lapse and a re-admission',
      );
      expect(a.statuses.slice(0, 3)).to.deep.equal([true, false, true]);
      expect(server.stats().admitted).to.equal(1);
    } finally {
      clearInterval(timer);
      a.ch.close();
      await server.close();
    }
  });

  it('with a hook, works against a server without admission (the pong decides)', async () => {
    const { server } = await start();
    const n = node();
    const [a, b] = [channel(server.url, n.hook), channel(server.url)];
    try {
      await waitFor(() => a.ch.connected && b.ch.connected, 'both connected');
      expect(a.ch.admitted).to.equal(false);
      a.ch.publish(clusterTopic(CLUSTER), 'plain');
      await waitFor(() => b.deliveries.length === 1, 'the publish');
      expect(server.stats().badFrames).to.equal(0);
    } finally {
      a.ch.close();
      b.ch.close();
      await server.close();
    }
  });

  it('a server that neither challenges nor answers pings is taken as plain after probeTimeoutMs', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const a = channel(url, node().hook, { probeTimeoutMs: 100 });
    try {
      await waitFor(() => a.ch.connected, 'connected after the probe timeout');
    } finally {
      a.ch.close();
      await new Promise((r) => wss.close(r));
    }
  });

  it('without a hook, an admission server leaves it disconnected and says why', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify } });
    const a = channel(server.url);
    try {
      await waitFor(() => a.logs.some((l) => /requires proof-of-π admission/.test(l.msg)), 'the log line');
      expect(a.ch.connected).to.equal(false);
      expect(a.statuses).to.deep.equal([true, false]);
      a.ch.publish(clusterTopic(CLUSTER), 'dropped');
      await new Promise((r) => setTimeout(r, 50));
      expect(server.stats().badFrames).to.equal(0);
    } finally {
      a.ch.close();
      await server.close();
    }
  });

  it('logs the server\'s refusal of a bad admit', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify } });
    const n = node();
    n.setProof(await proofFor(generateIdentity(), CLUSTER)); // someone else's proof
    const a = channel(server.url, n.hook);
    try {
      await waitFor(() => a.logs.some((l) => l.ctx?.code === 'admit-failed'), 'the refusal in the log');
      expect(a.ch.connected).to.equal(false);
    } finally {
      a.ch.close();
      await server.close();
    }
  });

  it('createSignaling passes the hook through for ws: URLs', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify } });
    const n = node();
    n.setProof(await proofFor(n.identity, CLUSTER));
    const ch = createSignaling(server.url, { WebSocket: WS, admit: n.hook });
    try {
      await waitFor(() => ch.connected, 'admitted');
      expect(server.stats().admitted).to.equal(1);
    } finally {
      ch.close();
      await server.close();
    }
  });
});
