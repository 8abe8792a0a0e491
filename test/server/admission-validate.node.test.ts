// The pure parts of signaling admission: the kpc-admit frame validator (with a mutation
// loop: parseFrame must stay total and strict), the admission options, and the helpers
// of server/admission.mjs (signature, topics, expiry, URL form).
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { generateIdentity, sign, toBase64, utf8Encode } from '../../src/crypto/index.js';
import { SIGNALING_ADMIT_CONTEXT, signalingAdmitMessage } from '../../src/mesh/signaling.js';
import { decodePowProof, epochOf, verifyProof } from '../../src/pow/index.js';
import {
  ADMIT_CONTEXT,
  admissionExpiry,
  admitMessage,
  normalizeServerUrl,
  powVerifier,
  topicInCluster,
  verifyAdmitSignature,
} from '../../server/admission.mjs';
import { DEFAULTS, ERROR_CODES, decodeBase64, parseFrame, resolveAdmission, resolveOptions } from '../../server/validate.mjs';
import { mutateBytes, mutateJson, type Json } from '../fuzz/mutate.js';
import { Rng } from '../fuzz/prng.js';
import { DIFFICULTY, proofFor, verify } from './admission-helpers.js';

const frame = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

async function validAdmit() {
  const me = generateIdentity();
  const nonce = new Uint8Array(32).fill(9);
  const url = 'wss://signal.example/';
  const proof = await proofFor(me, 'alpha');
  const sig = sign(me, signalingAdmitMessage(nonce, url));
  return { me, nonce, url, proof, sig, json: { type: 'kpc-admit', key: toBase64(me.publicKey), proof, sig: toBase64(sig), url } };
}

describe('admission: parseFrame kpc-admit', () => {
  it('accepts a well-formed admit, decoding key and signature', async () => {
    const { me, sig, json } = await validAdmit();
    const r = parseFrame(frame(json), DEFAULTS);
    expect(r.ok).to.equal(true);
    if (!r.ok || r.msg.type !== 'kpc-admit') throw new Error('not an admit');
    expect(Buffer.from(r.msg.key).equals(Buffer.from(me.publicKey))).to.equal(true);
    expect(Buffer.from(r.msg.sig).equals(Buffer.from(sig))).to.equal(true);
    expect(r.msg).to.include({ proof: json.proof, url: json.url });
  });

  it('refuses every malformed field with bad-field', async () => {
    const { json } = await validAdmit();
    const b64 = (n: number) => toBase64(new Uint8Array(n).fill(1));
    const cases: Record<string, unknown>[] = [
      { ...json, key: undefined },
      { ...json, key: b64(31) },
      { ...json, key: b64(33) },
      { ...json, key: json.key.replace(/=$/, '') }, // unpadded
      { ...json, key: ` ${json.key.slice(1)}` },
      { ...json, key: json.key.replace(/.=$/, '1=') }, // non-zero padding bits: not canonical
      { ...json, key: 7 },
      { ...json, sig: b64(63) },
      { ...json, sig: json.sig.replace(/\+/g, '-').replace(/\//g, '_') === json.sig ? '-'.repeat(88) : json.sig.replace(/\+/g, '-').replace(/\//g, '_') },
      { ...json, proof: '' },
      { ...json, proof: b64(52) }, // a proof needs at least one cluster-id byte
      { ...json, proof: b64(437) },
      { ...json, proof: `${json.proof}\n` },
      { ...json, proof: ['x'] },
      { ...json, url: '' },
      { ...json, url: 'x'.repeat(1025) },
      { ...json, url: null },
      { ...json, cluster: 'alpha' },
    ];
    for (const c of [...cases.map((c) => JSON.stringify(c)), JSON.stringify(json).replace('{', '{"__proto__":{},')]) {
      const r = parseFrame(frame(c), DEFAULTS);
      expect(r, c).to.include({ ok: false, code: 'bad-field' });
    }
    // Server → client frame types are not client frames.
    for (const type of ['kpc-challenge', 'kpc-admitted']) {
      expect(parseFrame(frame({ type }), DEFAULTS)).to.include({ ok: false, code: 'unknown-type' });
    }
  });

  it('stays total and strict under 20 000 mutated admit frames', async () => {
    const { json } = await validAdmit();
    const rng = new Rng(0x5eed);
    const bytes = utf8Encode(JSON.stringify(json));
    const parseCodes = ['bad-json', 'oversize', 'unknown-type', 'bad-field', 'topic-too-long', 'too-many-topics'];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const input = rng.chance(0.5) ? mutateBytes(rng, bytes).value : utf8Encode(JSON.stringify(mutateJson(rng, json as unknown as Json).value) ?? 'null');
      let r: ReturnType<typeof parseFrame>;
      try {
        r = parseFrame(Buffer.from(input), DEFAULTS);
      } catch (err) {
        throw new Error(`case ${i}: parseFrame threw ${String(err)} on ${Buffer.from(input).toString()}`);
      }
      const key = r.ok ? `ok:${r.msg.type}` : r.code;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (!r.ok) {
        expect(parseCodes, `case ${i}`).to.include(r.code);
        continue;
      }
      if (r.msg.type !== 'kpc-admit') continue;
      // Whatever got through has exactly the checked shape.
      const m = r.msg;
      expect(m.key).to.be.instanceOf(Uint8Array).with.length(32);
      expect(m.sig).to.be.instanceOf(Uint8Array).with.length(64);
      expect(toBase64(m.key)).to.be.a('string');
      expect(decodeBase64(m.proof, 53, 436), `case ${i}`).to.not.equal(null);
      expect(m.url.length).to.be.within(1, 1024);
      // And a mutated admit that parses is still refused or admitted by the real checks without throwing.
      try {
        verify(m.proof, m.key, Date.now(), { difficulty: DIFFICULTY, epochMs: 3_600_000, maxClockSkewMs: 60_000 });
      } catch (err) {
        expect((err as { code?: string }).code, `case ${i}`).to.match(/^POW_/);
      }
      // Ed25519 costs ~2 ms: a sample is enough to see it never throws on what parses.
      if ((outcomes.get('ok:kpc-admit') ?? 0) % 16 === 1) verifyAdmitSignature(m.key, new Uint8Array(32).fill(9), m.url, m.sig);
    }
    expect(outcomes.get('ok:kpc-admit') ?? 0).to.be.greaterThan(0);
    expect(outcomes.get('bad-field') ?? 0).to.be.greaterThan(0);
  });

  it('adds the admission error codes', () => {
    expect(ERROR_CODES).to.include.members(['not-admitted', 'wrong-cluster', 'admit-failed', 'too-many-admissions']);
  });
});

describe('admission: options', () => {
  it('is off by default and fills defaults when on', () => {
    expect(resolveOptions().admission).to.equal(null);
    expect(resolveOptions({ admission: false }).admission).to.equal(null);
    const a = resolveAdmission({ difficulty: 19, verify });
    expect(a).to.include({ difficulty: 19, epochMs: 3_600_000, maxClockSkewMs: 60_000, maxConnectionsPerKey: 4, admitTimeoutMs: 30_000, urls: null, clusters: null });
    expect([...(resolveAdmission({ difficulty: 0, urls: ['WSS://Signal.Example:443/a/'] })?.urls ?? [])]).to.deep.equal(['wss://signal.example/a']);
  });

  it('rejects nonsense', () => {
    const bad: unknown[] = [
      {}, { difficulty: 1.5 }, { difficulty: 65 }, { difficulty: 4, epochMs: -1 }, { difficulty: 4, maxClockSkewMs: -1 },
      { difficulty: 4, maxConnectionsPerKey: 0 }, { difficulty: 4, verify: {} }, { difficulty: 4, urls: [] },
      { difficulty: 4, urls: ['https://x'] }, { difficulty: 4, clusters: [''] }, { difficulty: 4, clusters: ['x'.repeat(129)] }, 'on',
    ];
    for (const a of bad) expect(() => resolveAdmission(a as never), JSON.stringify(a)).to.throw();
  });
});

describe('admission: helpers', () => {
  it('signs utf8("kpc/signal-admit/v1") ‖ nonce ‖ utf8(url), the same bytes on both sides', () => {
    const nonce = new Uint8Array(32).map((_, i) => i);
    const url = 'ws://127.0.0.1:8787';
    expect(SIGNALING_ADMIT_CONTEXT).to.equal(ADMIT_CONTEXT);
    const m = admitMessage(nonce, url);
    expect(Buffer.from(m).equals(Buffer.from(signalingAdmitMessage(nonce, url)))).to.equal(true);
    expect(Buffer.from(m).equals(Buffer.concat([Buffer.from('kpc/signal-admit/v1'), nonce, Buffer.from(url)]))).to.equal(true);
    const me = generateIdentity();
    const sig = sign(me, m);
    expect(verifyAdmitSignature(me.publicKey, nonce, url, sig)).to.equal(true);
    expect(verifyAdmitSignature(me.publicKey, nonce, `${url}/`, sig)).to.equal(false);
    expect(verifyAdmitSignature(generateIdentity().publicKey, nonce, url, sig)).to.equal(false);
    expect(verifyAdmitSignature(new Uint8Array(32), nonce, url, sig)).to.equal(false); // not a valid point: no throw
    expect(verifyAdmitSignature(me.publicKey, nonce.subarray(1), url, sig)).to.equal(false);
  });

  it('knows which topics belong to a cluster', () => {
    const id = 'a'.repeat(32);
    expect(topicInCluster('kpc/v1/alpha', 'alpha')).to.equal(true);
    expect(topicInCluster(`kpc/v1/alpha/${id}`, 'alpha')).to.equal(true);
    for (const t of ['kpc/v1/alphabet', `kpc/v1/alpha/${id}x`, `kpc/v1/alpha/${'A'.repeat(32)}`, 'kpc/v1/alpha/', 'kpc/v2/alpha', 'alpha', `kpc/v1/alpha/${id}/${id}`]) {
      expect(topicInCluster(t, 'alpha'), t).to.equal(false);
    }
    // A cluster id with a slash: its own topics, not its prefix's.
    expect(topicInCluster(`kpc/v1/a/${id}`, `a/${id}`)).to.equal(true);
    expect(topicInCluster(`kpc/v1/a/${id}`, 'a')).to.equal(true); // same string, so the server also requires the same cluster on both ends
  });

  it('puts the expiry exactly where verifyProof stops accepting', async () => {
    const epochMs = 1000;
    const skew = 250;
    const me = generateIdentity();
    const epoch = epochOf(Date.now(), epochMs);
    const proof = decodePowProof(Buffer.from(await proofFor(me, 'alpha', { epochMs, epoch }), 'base64'));
    const at = admissionExpiry(epoch, epochMs, skew);
    const opts = { publicKey: me.publicKey, clusterId: 'alpha', epochMs, minDifficulty: DIFFICULTY, maxClockSkewMs: skew };
    expect(() => verifyProof(proof, { ...opts, now: at - 1 })).to.not.throw();
    expect(() => verifyProof(proof, { ...opts, now: at })).to.throw(/expired/);
  });

  it('powVerifier returns the proof\'s cluster and epoch, and insists on a pow module', async () => {
    const me = generateIdentity();
    const text = await proofFor(me, 'alpha');
    expect(verify(text, me.publicKey, Date.now(), { difficulty: DIFFICULTY, epochMs: 3_600_000, maxClockSkewMs: 60_000 })).to.deep.equal({
      clusterId: 'alpha',
      epoch: epochOf(Date.now()),
    });
    expect(() => verify(text, me.publicKey, Date.now(), { difficulty: DIFFICULTY + 1, epochMs: 3_600_000, maxClockSkewMs: 60_000 })).to.throw();
    expect(() => powVerifier({} as never)).to.throw(TypeError);
  });

  it('normalizes server URLs for comparison', () => {
    expect(normalizeServerUrl('ws://127.0.0.1:8787')).to.equal('ws://127.0.0.1:8787');
    expect(normalizeServerUrl('ws://127.0.0.1:8787/')).to.equal('ws://127.0.0.1:8787');
    expect(normalizeServerUrl('wss://Signal.Example:443/x//?q=1#f')).to.equal('wss://signal.example/x');
    expect(normalizeServerUrl('https://signal.example')).to.equal(null);
    expect(normalizeServerUrl('not a url')).to.equal(null);
  });
});
