// Proof-of-π admission at the signaling server: real server, real `ws` clients, proofs
// solved in-process at difficulty 4 (docs/signaling.md, "Proof-of-π admission at the server").
import { after, before, describe, it } from 'node:test';
import { expect } from 'chai';
import { generateIdentity, toBase64 } from '../../src/crypto/index.js';
import { epochOf } from '../../src/pow/index.js';
import type { SignalingServer } from '../../server/signaling-server.mjs';
import {
  DIFFICULTY,
  admitFrame,
  clusterTopic,
  connectAdmitted,
  directTopic,
  proofFor,
  readChallenge,
  verify,
} from './admission-helpers.js';
import { TestClient, expectError, freePort, start, waitFor, type Frame } from './helpers.js';

const CLUSTER = 'alpha';
const OTHER = 'beta';

/** Publishes `data` on `topic` from `from`; returns what each of `watchers` received before its pong. */
async function publishAndCollect(from: TestClient, topic: string, watchers: TestClient[], data = 'envelope'): Promise<Frame[][]> {
  from.send({ type: 'publish', topic, data });
  await from.sync();
  return Promise.all(watchers.map((w) => w.sync()));
}

describe('signaling admission: relaying', () => {
  let server: SignalingServer;
  before(async () => {
    ({ server } = await start({ admission: { difficulty: DIFFICULTY, verify } }));
  });
  after(() => server.close());

  it('challenges every connection first, with a fresh 32-byte nonce and the difficulty', async () => {
    const [a, b] = [await TestClient.connect(server.url), await TestClient.connect(server.url)];
    const [ca, cb] = [await readChallenge(a), await readChallenge(b)];
    expect(ca.difficulty).to.equal(DIFFICULTY);
    expect(ca.nonce).to.not.equal(cb.nonce);
    a.close();
    b.close();
  });

  it('relays an admitted publish to the admitted subscribers of the same cluster only', async () => {
    const a = await connectAdmitted(server.url, CLUSTER);
    const b = await connectAdmitted(server.url, CLUSTER);
    const other = await connectAdmitted(server.url, OTHER);
    const unadmitted = await TestClient.connect(server.url);
    await readChallenge(unadmitted);
    for (const c of [b.client, other.client, unadmitted]) await c.subscribe(clusterTopic(CLUSTER));
    await b.client.subscribe(directTopic(CLUSTER, b.identity));

    const [atB, atOther, atUnadmitted] = await publishAndCollect(a.client, clusterTopic(CLUSTER), [b.client, other.client, unadmitted]);
    expect(atB).to.deep.equal([{ type: 'publish', topic: clusterTopic(CLUSTER), data: 'envelope', clients: 1 }]);
    expect(atOther).to.deep.equal([]);
    expect(atUnadmitted).to.deep.equal([]);

    // Direct topics of the admitted cluster too.
    const [direct] = await publishAndCollect(a.client, directTopic(CLUSTER, b.identity), [b.client], 'signal');
    expect(direct).to.deep.equal([{ type: 'publish', topic: directTopic(CLUSTER, b.identity), data: 'signal', clients: 1 }]);
    expect(server.stats().admitted).to.be.at.least(3);
    for (const c of [a.client, b.client, other.client, unadmitted]) c.close();
  });

  it('refuses publish before admission, and relays nothing', async () => {
    const b = await connectAdmitted(server.url, CLUSTER);
    await b.client.subscribe(clusterTopic(CLUSTER));
    const c = await TestClient.connect(server.url);
    await readChallenge(c);
    await c.subscribe(clusterTopic(CLUSTER)); // allowed before admission; deliveries are not
    await expectError(c, { type: 'publish', topic: clusterTopic(CLUSTER), data: 'x' }, 'not-admitted');
    expect(await b.client.sync()).to.deep.equal([]);
    b.client.close();
    c.close();
  });

  it('refuses a publish outside the admitted cluster (a proof for another cluster)', async () => {
    const b = await connectAdmitted(server.url, CLUSTER);
    await b.client.subscribe(clusterTopic(CLUSTER), directTopic(CLUSTER, b.identity));
    const m = await connectAdmitted(server.url, OTHER);
    for (const topic of [clusterTopic(CLUSTER), directTopic(CLUSTER, b.identity), 'y-webrtc-room', `${clusterTopic(OTHER)}/not-a-node-id`]) {
      await expectError(m.client, { type: 'publish', topic, data: 'x' }, 'wrong-cluster');
    }
    expect(await b.client.sync()).to.deep.equal([]);
    b.client.close();
    m.client.close();
  });

  it('refuses bad admits with admit-failed and relays nothing from them', async () => {
    const bystander = await connectAdmitted(server.url, CLUSTER);
    await bystander.client.subscribe(clusterTopic(CLUSTER));
    const victim = generateIdentity();
    const victimProof = await proofFor(victim, CLUSTER);
    const epoch = epochOf(Date.now(), 3_600_000);

    // A connection whose admit we can replay elsewhere.
    const first = await TestClient.connect(server.url);
    const { nonce: firstNonce } = await readChallenge(first);
    const replayed = admitFrame(victim, victimProof, firstNonce, server.url);

    const cases: [string, (nonce: string) => Promise<Frame>, RegExp][] = [
      ['a proof for another key (shown with our own key)', async (nonce) => {
        const me = generateIdentity();
        return admitFrame(me, victimProof, nonce, server.url);
      }, /POW_WRONG_KEY/],
      ['another key\'s proof and key, signed by us', async (nonce) => admitFrame(generateIdentity(), victimProof, nonce, server.url, victim.publicKey), /signature/],
      ['a signature over another nonce', async () => admitFrame(victim, victimProof, toBase64(new Uint8Array(32).fill(7)), server.url), /signature/],
      ['a signature for another server URL', async (nonce) => {
        const f = admitFrame(victim, victimProof, nonce, 'ws://elsewhere.example/');
        return { ...f, url: server.url };
      }, /signature/],
      ['an expired proof', async (nonce) => {
        const me = generateIdentity();
        return admitFrame(me, await proofFor(me, CLUSTER, { epoch: epoch - 2 }), nonce, server.url);
      }, /POW_EXPIRED/],
      ['a proof from the future', async (nonce) => {
        const me = generateIdentity();
        return admitFrame(me, await proofFor(me, CLUSTER, { epoch: epoch + 2 }), nonce, server.url);
      }, /POW_EPOCH_FUTURE/],
      ['a proof below the difficulty', async (nonce) => {
        const me = generateIdentity();
        return admitFrame(me, await proofFor(me, CLUSTER, { difficulty: DIFFICULTY - 2 }), nonce, server.url);
      }, /POW_TOO_EASY/],
      ['another connection\'s admit, replayed', async () => replayed, /signature/],
    ];
    for (const [name, make, why] of cases) {
      const c = await TestClient.connect(server.url);
      const { nonce } = await readChallenge(c);
      const err = await expectError(c, await make(nonce), 'admit-failed');
      expect(err.message, name).to.match(why);
      await c.subscribe(clusterTopic(CLUSTER));
      await expectError(c, { type: 'publish', topic: clusterTopic(CLUSTER), data: name }, 'not-admitted');
      expect(await bystander.client.sync(), name).to.deep.equal([]);
      c.close();
    }
    // The replayed admit still works where it was signed.
    first.send(replayed);
    expect(await first.next()).to.include({ type: 'kpc-admitted', cluster: CLUSTER });
    first.close();
    bystander.client.close();
  });

  it('answers a malformed kpc-admit with bad-field', async () => {
    const c = await TestClient.connect(server.url);
    const { nonce } = await readChallenge(c);
    const me = generateIdentity();
    const good = admitFrame(me, await proofFor(me, CLUSTER), nonce, server.url);
    await expectError(c, { ...good, key: toBase64(new Uint8Array(31)) }, 'bad-field');
    await expectError(c, { ...good, extra: 1 }, 'bad-field');
    await expectError(c, { ...good, proof: 'not base64!' }, 'bad-field');
    c.send(good);
    expect(await c.next()).to.include({ type: 'kpc-admitted' });
    c.close();
  });

  it('re-admitting on the same connection replaces the admission (e.g. a new epoch\'s proof)', async () => {
    const a = await connectAdmitted(server.url, CLUSTER);
    a.client.send(admitFrame(a.identity, await proofFor(a.identity, OTHER), a.nonce, server.url));
    expect(await a.client.next()).to.include({ type: 'kpc-admitted', cluster: OTHER });
    await expectError(a.client, { type: 'publish', topic: clusterTopic(CLUSTER), data: 'x' }, 'wrong-cluster');
    // A refused re-admit leaves the admission as it was.
    await expectError(a.client, admitFrame(generateIdentity(), await proofFor(a.identity, CLUSTER), a.nonce, server.url, a.identity.publicKey), 'admit-failed');
    a.client.send({ type: 'publish', topic: clusterTopic(OTHER), data: 'still admitted' });
    expect(await a.client.sync()).to.deep.equal([]);
    a.client.close();
  });
});

describe('signaling admission: bounds', () => {
  it('caps admitted connections per key; a closed one frees its slot', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify, maxConnectionsPerKey: 2 } });
    try {
      const me = generateIdentity();
      const one = await connectAdmitted(server.url, CLUSTER, me);
      const two = await connectAdmitted(server.url, CLUSTER, me);
      // Re-admitting an admitted connection does not take a second slot.
      one.client.send(admitFrame(me, await proofFor(me, CLUSTER), one.nonce, server.url));
      expect(await one.client.next()).to.include({ type: 'kpc-admitted' });

      const three = await TestClient.connect(server.url);
      const { nonce } = await readChallenge(three);
      const proof = await proofFor(me, CLUSTER);
      await expectError(three, admitFrame(me, proof, nonce, server.url), 'too-many-admissions');
      await expectError(three, { type: 'publish', topic: clusterTopic(CLUSTER), data: 'x' }, 'not-admitted');
      // Another key is not affected.
      (await connectAdmitted(server.url, CLUSTER)).client.close();

      one.client.close();
      await waitFor(() => server.stats().admitted === 1, 'the slot to be freed');
      three.send(admitFrame(me, proof, nonce, server.url));
      expect(await three.next()).to.include({ type: 'kpc-admitted' });
      two.client.close();
      three.close();
    } finally {
      await server.close();
    }
  });

  it('bad admits count towards the bad-frame budget', async () => {
    const { server } = await start({ badFrameLimit: 3, admission: { difficulty: DIFFICULTY, verify } });
    try {
      const c = await TestClient.connect(server.url);
      await readChallenge(c);
      const me = generateIdentity();
      // Signed over a nonce that is not this connection's.
      const bad = admitFrame(me, await proofFor(me, CLUSTER), toBase64(new Uint8Array(32)), server.url);
      for (let i = 0; i < 3; i++) await expectError(c, bad, 'admit-failed');
      c.send(bad);
      expect((await c.waitClosed()).code).to.equal(1008);
    } finally {
      await server.close();
    }
  });

  it('closes a connection that is not admitted within admitTimeoutMs (1008)', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify, admitTimeoutMs: 150 } });
    try {
      const idle = await TestClient.connect(server.url);
      await readChallenge(idle);
      const a = await connectAdmitted(server.url, CLUSTER);
      expect(await idle.waitClosed()).to.deep.include({ code: 1008, reason: 'not admitted' });
      await new Promise((r) => setTimeout(r, 200));
      expect(a.client.ws.readyState).to.equal(a.client.ws.OPEN); // admitted: no deadline
      a.client.close();
    } finally {
      await server.close();
    }
  });

  it('ends the admission when the proof expires, challenges again, and takes a fresh proof', async () => {
    // Epochs of 400 ms and no skew: a proof of the current epoch lapses within 0.4–0.8 s.
    const epochMs = 400;
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify, epochMs, maxClockSkewMs: 0 } });
    try {
      const before = Date.now();
      const a = await connectAdmitted(server.url, CLUSTER, generateIdentity(), { epochMs });
      // Expiry = (proof epoch + 2) epochs + skew, per verifyProof's acceptance window.
      const epoch = (a.admitted.expires as number) / epochMs - 2;
      expect(epoch).to.be.oneOf([epochOf(before, epochMs), epochOf(Date.now(), epochMs)]);
      const again = await a.client.next();
      expect(again).to.deep.equal({ type: 'kpc-challenge', nonce: a.nonce, difficulty: DIFFICULTY });
      expect(Date.now()).to.be.at.least(a.admitted.expires as number);
      expect(server.stats().admitted).to.equal(0);
      await expectError(a.client, { type: 'publish', topic: clusterTopic(CLUSTER), data: 'x' }, 'not-admitted');
      // The lapsed proof is refused; a fresh one admits again.
      a.client.send(admitFrame(a.identity, await proofFor(a.identity, CLUSTER, { epochMs, epoch }), a.nonce, server.url));
      expect(await a.client.next()).to.include({ type: 'error', code: 'admit-failed' });
      a.client.send(admitFrame(a.identity, await proofFor(a.identity, CLUSTER, { epochMs }), a.nonce, server.url));
      expect(await a.client.next()).to.include({ type: 'kpc-admitted' });
      a.client.close();
    } finally {
      await server.close();
    }
  });

  it('with urls set, admits only signatures for this server\'s public URL', async () => {
    const port = await freePort();
    const { server } = await start({ port, admission: { difficulty: DIFFICULTY, verify, urls: [`ws://127.0.0.1:${port}`] } });
    try {
      const me = generateIdentity();
      const proof = await proofFor(me, CLUSTER);
      const c = await TestClient.connect(server.url);
      const { nonce } = await readChallenge(c);
      // Correctly signed, but for another server: what a relaying server would obtain from us.
      const err = await expectError(c, admitFrame(me, proof, nonce, 'wss://other.example/'), 'admit-failed');
      expect(err.message).to.match(/url/);
      // The same server, written differently (trailing slash), is fine.
      c.send(admitFrame(me, proof, nonce, `ws://127.0.0.1:${port}/`));
      expect(await c.next()).to.include({ type: 'kpc-admitted' });
      c.close();
    } finally {
      await server.close();
    }
  });

  it('with clusters set, admits only those clusters', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify, clusters: [CLUSTER] } });
    try {
      (await connectAdmitted(server.url, CLUSTER)).client.close();
      const c = await TestClient.connect(server.url);
      const { nonce } = await readChallenge(c);
      const me = generateIdentity();
      const err = await expectError(c, admitFrame(me, await proofFor(me, OTHER), nonce, server.url), 'admit-failed');
      expect(err.message).to.match(/cluster/);
      c.close();
    } finally {
      await server.close();
    }
  });

  it('reports admitted connections in /health', async () => {
    const { server } = await start({ admission: { difficulty: DIFFICULTY, verify } });
    try {
      const a = await connectAdmitted(server.url, CLUSTER);
      const health = await (await fetch(`${server.httpUrl}/health`)).json();
      expect(health).to.include({ status: 'ok', admitted: 1, connections: 1 });
      a.client.close();
      await waitFor(() => server.stats().admitted === 0, 'admission released on close');
    } finally {
      await server.close();
    }
  });

  it('rejects invalid admission options at start-up', async () => {
    for (const admission of [{ difficulty: -1, verify }, { difficulty: 65, verify }, { difficulty: 4, verify, epochMs: 0 }, { difficulty: 4, verify, urls: ['http://x'] }, { difficulty: 4, verify: 'no' }]) {
      let threw = false;
      try {
        await start({ admission: admission as never });
      } catch {
        threw = true;
      }
      expect(threw, JSON.stringify(admission)).to.equal(true);
    }
  });
});

describe('signaling admission: off (the default) keeps y-webrtc behaviour', () => {
  it('sends no challenge and relays plain clients; a stray kpc-admit is refused', async () => {
    const { server } = await start();
    try {
      const [a, b] = [await TestClient.connect(server.url), await TestClient.connect(server.url)];
      await a.subscribe('room');
      await b.subscribe('room');
      a.send({ type: 'publish', topic: 'room', data: 'hi' });
      expect(await b.next()).to.deep.equal({ type: 'publish', topic: 'room', data: 'hi', clients: 2 });
      expect(await a.next()).to.deep.equal({ type: 'publish', topic: 'room', data: 'hi', clients: 2 });
      const me = generateIdentity();
      await expectError(a, admitFrame(me, await proofFor(me, CLUSTER), toBase64(new Uint8Array(32)), server.url), 'admit-failed');
      expect(server.stats().admitted).to.equal(0);
      a.close();
      b.close();
    } finally {
      await server.close();
    }
  });
});
