/**
 * Fuzz targets of authenticated links (spec §8.2): the HMAC-tagged (v2) link envelope,
 * and the whole receive path of a link's first message into a LinkSession as
 * `Mesh.onLinkMessage` runs it, then the tagged frames that follow.
 *
 * - `link-envelope`: `decodeEnvelope(bytes, { macKey })`. Valid v2 envelopes of every type,
 *   mutated; some re-tagged with the right key after the edit (the analogue of
 *   re-signing: the tag is passed, so the header checks and body validators are hit),
 *   some tagged with a wrong one (the other direction's key, another link's key, a key
 *   one bit away, a random key). An accepted input that was modified and not re-tagged
 *   with the right key is a forgery.
 * - `handshake` (stateful): decode (signed v1 only, 256 KiB, ±30 s) → signer = link peer
 *   (`PROTO_WRONG_SENDER`) → seq above the last (`PROTO_REPLAY`) → `LinkSession.accept`.
 *   A rejection must leave the session without keys and its last seq as it was; an
 *   acceptance must give the keys the honest peer derives (A.send = B.recv, A.recv =
 *   B.send). Once keys exist, the session's later cases feed the tagged frames the mesh
 *   would then decode with `macKey: keys.recv`, and the keys must never change again.
 */
import { equalBytes, fromHex, toHex } from '../../src/crypto/bytes.js';
import type { Identity } from '../../src/crypto/identity.js';
import { deriveLinkKeys, generateLinkKeyPair, linkTag, type LinkKeys } from '../../src/crypto/link-keys.js';
import { KpcError } from '../../src/errors.js';
import { HANDSHAKE_MAX_SKEW_MS, LinkSession } from '../../src/mesh/link-session.js';
import {
  MessageType,
  decodeEnvelope,
  encodeEnvelope,
  type DecodedEnvelope,
  type HandshakeBody,
  type Message,
  type MessageTypeCode,
} from '../../src/protocol/index.js';
import { FuzzViolation, LastInput, check, stateless, typed, type CaseOutcome, type FuzzTarget, type TargetInstance } from './engine.js';
import { mutateBytes, mutateJson, type Json, type LengthField } from './mutate.js';
import { Rng, fixedIdentity } from './prng.js';
import {
  ALL_TYPES,
  IDS,
  LINK_DOMAIN,
  NON_BYTES,
  NOW,
  checkCanonicalBody,
  fingerprintText,
  mutatedBody,
  resign,
  retag,
  serialize,
  validMessage,
  withBody,
} from './targets-protocol.js';
import { FingerprintLink } from '../helpers/fake-link.js';
import { LOW_ORDER_X25519 } from '../helpers/x25519.js';

const TAG = 32;
/** The mesh's default `maxMessageBytes` on links (src/mesh/mesh.ts). */
const LINK_MAX_BYTES = 256 * 1024;

/** What `decodeEnvelope` may throw with a link key: never `PROTO_BAD_SIGNATURE` (no signature is checked). */
export const LINK_ENVELOPE_CODES = [
  'PROTO_OVERSIZE', 'PROTO_MALFORMED', 'PROTO_BAD_VERSION', 'PROTO_UNKNOWN_TYPE', 'PROTO_CLOCK_SKEW', 'PROTO_BAD_BODY', 'PROTO_BAD_MAC',
] as const;

const HANDSHAKE_CODES = [
  'PROTO_OVERSIZE', 'PROTO_MALFORMED', 'PROTO_BAD_VERSION', 'PROTO_UNKNOWN_TYPE', 'PROTO_CLOCK_SKEW', 'PROTO_BAD_SIGNATURE', 'PROTO_BAD_BODY',
  'PROTO_BAD_MAC', 'PROTO_WRONG_SENDER', 'PROTO_REPLAY', 'MESH_BAD_HANDSHAKE', 'CRYPTO_BAD_KEY',
] as const;

const LENGTH_FIELDS: LengthField[] = [{ offset: 48, size: 4 }, { offset: 36, size: 4 }, { offset: 40, size: 8 }];


/** A session's keys, read afresh (TypeScript would keep an earlier narrowing of `rx.keys`). */
function keysOf(rx: LinkSession): LinkKeys | undefined {
  return rx.keys;
}

function hexSet(items: readonly Uint8Array[]): Set<string> {
  return new Set(items.map(toHex));
}

function secret(rng: Rng): Uint8Array {
  return rng.bytes(32);
}

/** Both ends' keys of one link between `a` and `b`, from fixed ephemeral secrets. */
function linkKeys(rng: Rng, a: Identity, b: Identity, session: string): { a: LinkKeys; b: LinkKeys } {
  const ea = generateLinkKeyPair(secret(rng));
  const eb = generateLinkKeyPair(secret(rng));
  return {
    a: deriveLinkKeys({ own: ea, peerEphemeral: eb.publicKey, ownIdentity: a.publicKey, peerIdentity: b.publicKey, session }),
    b: deriveLinkKeys({ own: eb, peerEphemeral: ea.publicKey, ownIdentity: b.publicKey, peerIdentity: a.publicKey, session }),
  };
}

/** A valid v2 envelope of `type` from `from`, tagged with `key`. */
function validFrame(rng: Rng, from: Identity, key: Uint8Array, type: MessageTypeCode, seq: number, timestamp: number): Uint8Array {
  const msg = { ...validMessage(rng, type, timestamp), seq } as Message;
  return encodeEnvelope(from, msg, { macKey: key, maxBytes: LINK_MAX_BYTES });
}

/** The untagged prefix (header ‖ body) of a v2 envelope. */
function untagged(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, bytes.length - TAG);
}

/** An accepted v2 envelope must carry the tag of `key` over domain ‖ header ‖ body (independent check). */
function checkTag(env: DecodedEnvelope, key: Uint8Array): void {
  check(env.version === 2, `accepted a version-${env.version} envelope under a link key`);
  const expected = linkTag(key, LINK_DOMAIN, untagged(env.bytes));
  check(equalBytes(expected, env.bytes.subarray(env.bytes.length - TAG)), 'FORGERY: accepted a link envelope whose tag is not the key’s');
}

// ------------------------------------------------------------------ link-envelope

interface FrameItem {
  bytes: Uint8Array;
  type: MessageTypeCode;
  identity: Identity;
  timestamp: number;
}

const linkEnvelope: FuzzTarget = {
  name: 'link-envelope',
  decoder: 'decodeEnvelope with a link key: HMAC-tagged v2 envelopes (src/protocol/envelope.ts)',
  codes: LINK_ENVELOPE_CODES,
  testCases: 1500,
  async prepare(): Promise<TargetInstance<unknown>> {
    const rng = new Rng(0x11e4);
    const [A, B] = IDS;
    const k = linkKeys(rng, A, B, 'link-envelope/s1');
    const other = linkKeys(rng, A, B, 'link-envelope/s2');
    /** The receiver is B: it decodes with its receive key, which is A's send key. */
    const KEY = k.b.recv;
    check(equalBytes(KEY, k.a.send), 'harness: link keys do not agree');
    const wrongKeys: readonly (readonly [string, Uint8Array])[] = [
      ['reflected', k.b.send], // B's own frames coming back at B
      ['a-recv', k.a.recv],
      ['other-link', other.a.send],
      ['zero', new Uint8Array(32)],
    ];
    const pool: FrameItem[] = [];
    for (let i = 0; i < 48; i++) {
      const type = ALL_TYPES[i % ALL_TYPES.length];
      const identity = i % 4 === 3 ? IDS[2] : A; // `from` is not what authenticates a v2 envelope
      const timestamp = NOW + rng.range(-3_600_000, 3_600_000);
      pool.push({ bytes: validFrame(rng, identity, KEY, type, rng.chance(0.1) ? 0xffffffff : rng.int(100_000), timestamp), type, identity, timestamp });
    }
    const v1 = pool.slice(0, 12).map((p) => encodeEnvelope(p.identity, { ...validMessage(rng, p.type, p.timestamp), seq: 1 } as Message));
    const valid = hexSet(pool.map((p) => p.bytes));
    const others = pool.map((p) => p.bytes);
    return stateless((rng, last): CaseOutcome => {
      const item = rng.pick(pool);
      const kind = rng.weighted([
        [3, 'valid'], [45, 'bytes'], [13, 'retagged'], [13, 'retagged-body'], [4, 'retagged-type'], [9, 'wrong-key'],
        [3, 'v1'], [2, 'version'], [3, 'random'], [3, 'skew'], [1, 'oversize'], [2, 'non-bytes'],
      ] as const);
      let input: unknown;
      let label: string = kind;
      let taggedByUs = false;
      let wrongKey = false;
      let contentUnchanged = false;
      let opts: { now?: number; maxSkewMs?: number } = {};
      switch (kind) {
        case 'valid':
          input = item.bytes;
          break;
        case 'bytes': {
          const m = mutateBytes(rng, item.bytes, { others, lengthFields: LENGTH_FIELDS });
          [input, label] = [m.value, m.label];
          break;
        }
        case 'retagged': {
          // Any edit of header and body, then a valid tag under the link key.
          const m = mutateBytes(rng, untagged(item.bytes), { lengthFields: LENGTH_FIELDS });
          [input, label, taggedByUs] = [retag(KEY, m.value), `retagged:${m.label}`, true];
          break;
        }
        case 'retagged-body': {
          const m = mutatedBody(rng, item, TAG);
          [input, label, taggedByUs] = [retag(KEY, withBody(item.bytes, m.body)), `retagged:${m.label}`, true];
          break;
        }
        case 'retagged-type': {
          const type = rng.chance(0.8) ? rng.pick(ALL_TYPES) : rng.int(256);
          input = retag(KEY, withBody(item.bytes, item.bytes.subarray(52, item.bytes.length - TAG), type));
          [label, taggedByUs] = ['retagged:type', true];
          break;
        }
        case 'wrong-key': {
          // Unchanged or edited content, under a key that is not the receiver's.
          const [name, key] = rng.chance(0.8)
            ? rng.pick(wrongKeys)
            : rng.chance(0.5)
              ? (['random', rng.bytes(32)] as const)
              : (() => {
                  const near = Uint8Array.from(KEY);
                  near[rng.int(32)] ^= 1 << rng.int(8);
                  return ['one-bit', near] as const;
                })();
          contentUnchanged = rng.chance(0.6);
          const content = contentUnchanged ? untagged(item.bytes) : mutateBytes(rng, untagged(item.bytes), { lengthFields: LENGTH_FIELDS }).value;
          [input, label, wrongKey] = [retag(key, content), `wrong-key:${name}`, true];
          break;
        }
        case 'v1':
          // A signed envelope where the link takes only tagged ones.
          input = rng.pick(v1);
          break;
        case 'version': {
          const u = Uint8Array.from(untagged(item.bytes));
          u[2] = rng.pick([0, 1, 3, 0x7f, 0xff, rng.int(256)]);
          input = retag(KEY, u);
          break;
        }
        case 'random': {
          const rest = rng.bytes(rng.size(400));
          input = rng.chance(0.5) ? rest : Uint8Array.from([0x4b, 0x50, 2, rng.pick(ALL_TYPES), ...rest]);
          break;
        }
        case 'skew':
          input = item.bytes;
          opts = { now: item.timestamp + rng.range(-120_000, 120_000), maxSkewMs: rng.pick([0, 1000, 30_000, 60_000]) };
          break;
        case 'oversize': {
          const big = new Uint8Array(64 * 1024 + rng.range(1, 64));
          big.set(item.bytes);
          input = big;
          break;
        }
        case 'non-bytes':
          input = rng.pick(NON_BYTES)();
          break;
      }
      last.set(label, input);
      const r = typed(LINK_ENVELOPE_CODES, () => decodeEnvelope(input as Uint8Array, { ...opts, macKey: KEY }));
      if (!r.ok) {
        if (kind === 'valid') throw new FuzzViolation(`a valid link envelope was refused: ${r.code}`);
        if (kind === 'v1') check(r.code === 'PROTO_BAD_MAC', `a signed v1 envelope under a link key gave ${r.code}, not PROTO_BAD_MAC`);
        // A valid envelope under another key (reflected, other link…): only the tag is wrong.
        if (contentUnchanged) check(r.code === 'PROTO_BAD_MAC', `a valid envelope under a wrong key (${label}) gave ${r.code}, not PROTO_BAD_MAC`);
        return { outcome: r.code, mutation: label };
      }
      const env = r.value;
      check(!wrongKey, `FORGERY: accepted a link envelope tagged with the wrong key (${label})`);
      check(equalBytes(env.bytes, input as Uint8Array), 'decoded bytes differ from the input');
      checkTag(env, KEY);
      if (taggedByUs) checkCanonicalBody(env.type, env.body, env.bytes, TAG);
      else check(valid.has(toHex(env.bytes)), 'FORGERY: a modified link envelope decoded without being re-tagged');
      if (opts.maxSkewMs !== undefined) check(Math.abs(env.timestamp - opts.now!) <= opts.maxSkewMs, 'an envelope outside the skew window was accepted');
      return { outcome: taggedByUs ? 'ok(re-tagged)' : 'ok', mutation: label };
    });
  },
};

// ---------------------------------------------------------------------- handshake


/** One kind of link: its session id, the fingerprints its transport reports, the honest peer. */
interface Scenario {
  name: string;
  session: string;
  /** Fingerprints of the receiver's link (undefined: no method, as in the simulator). */
  fps: { local: string; remote: string } | null | undefined;
  rxSecret: Uint8Array;
  /** The honest peer's handshake body and the keys it derived. */
  peerBody: HandshakeBody;
  peerKeys: LinkKeys;
  /** Valid first messages: the peer's handshake, signed, seqs and timestamps varied. */
  pool: Uint8Array[];
  valid: Set<string>;
  /** The receiver's own signed handshake (reflected back at it in some cases). */
  rxHandshake: Uint8Array;
}

interface HsState {
  sc?: Scenario;
  rx?: LinkSession;
  lastSeq: number;
  /** Hex of the keys once agreed: they must never change afterwards. */
  agreed?: { send: string; recv: string; ref: LinkKeys };
  /**
   * The key the peer tags with once the handshake is done: the honest peer's send key,
   * or, where the peer signed another ephemeral key (a re-signed case), the one it
   * would derive from that key's secret.
   */
  peerSend?: Uint8Array;
}

const RX = IDS[1];
const PEER = IDS[0];
const THIRD = IDS[2];
const STRANGER = fixedIdentity(7);

const handshake: FuzzTarget = {
  name: 'handshake',
  decoder: 'a link’s first message as Mesh.onLinkMessage runs it: decodeEnvelope (±30 s) → signer → seq → LinkSession.accept, then tagged frames',
  codes: HANDSHAKE_CODES,
  sessionLength: 8,
  testCases: 1000,
  async prepare(): Promise<TargetInstance<unknown>> {
    const rng = new Rng(0x4a5d);
    const fpRx = fingerprintText(rng.bytes(32));
    const fpPeer = fingerprintText(rng.bytes(32));
    const specs: { name: string; session: string; fps: 'yes' | 'null' | 'none' }[] = [
      { name: 'webrtc', session: toHex(rng.bytes(32)), fps: 'yes' },
      { name: 'sim', session: toHex(rng.bytes(32)), fps: 'none' },
      { name: 'webrtc-short', session: 'x'.repeat(64), fps: 'yes' },
    ];
    const scenarios: Scenario[] = specs.map((s) => {
      const rxFps = s.fps === 'yes' ? { local: fpRx, remote: fpPeer } : s.fps === 'null' ? null : undefined;
      const peerFps = s.fps === 'yes' ? { local: fpPeer, remote: fpRx } : s.fps === 'null' ? null : undefined;
      const rxSecret = secret(rng);
      const peerSecret = secret(rng);
      const rxProbe = new LinkSession(RX, PEER.nodeId, s.session, new FingerprintLink(PEER.nodeId, rxFps), () => Uint8Array.from(rxSecret));
      const peer = new LinkSession(PEER, RX.nodeId, s.session, new FingerprintLink(RX.nodeId, peerFps), () => Uint8Array.from(peerSecret));
      const peerBody = peer.handshake();
      const rxHandshake = encodeEnvelope(RX, { type: MessageType.HANDSHAKE, seq: 1, timestamp: NOW, body: rxProbe.handshake() });
      const peerKeys = peer.accept(decodeEnvelope(rxHandshake));
      const pool: Uint8Array[] = [];
      for (let i = 0; i < 12; i++) {
        const seq = rng.pick([0, 1, 2, rng.int(1000), rng.int(0x7fffffff), 0xfffffffe, 0xffffffff]);
        const timestamp = NOW + rng.range(-HANDSHAKE_MAX_SKEW_MS + 1, HANDSHAKE_MAX_SKEW_MS - 1);
        pool.push(encodeEnvelope(PEER, { type: MessageType.HANDSHAKE, seq, timestamp, body: peerBody }));
      }
      return { name: s.name, session: s.session, fps: rxFps, rxSecret, peerBody, peerKeys, pool, valid: hexSet(pool), rxHandshake };
    });
    const allFirst = scenarios.flatMap((s) => s.pool);
    const last = new LastInput();

    /** The peer's honest body of `sc` with one targeted edit, and the edit's name. */
    const semanticBody = (rng: Rng, sc: Scenario): { body: Record<string, unknown>; label: string } => {
      const body: Record<string, unknown> = { ...sc.peerBody };
      const op = rng.pick([
        'to-other', 'to-self', 'session-other', 'session-prefix', 'session-case', 'fp-wrong', 'fp-missing', 'fp-extra', 'fp-case',
        'eph-low-order', 'eph-low-order', 'eph-other', 'eph-rx', 'eph-random-bytes', 'eph-upper', 'other-scenario',
      ]);
      switch (op) {
        case 'to-other':
          body.to = rng.pick([THIRD.nodeId, STRANGER.nodeId, toHex(rng.bytes(16))]);
          break;
        case 'to-self':
          body.to = PEER.nodeId;
          break;
        case 'session-other':
          body.session = rng.pick(scenarios.filter((s) => s.session !== sc.session)).session;
          break;
        case 'session-prefix':
          body.session = sc.session.length > 1 ? sc.session.slice(0, -1) : sc.session + '0';
          break;
        case 'session-case':
          body.session = sc.session.toUpperCase() === sc.session ? sc.session.toLowerCase() + 'A' : sc.session.toUpperCase();
          break;
        case 'fp-wrong':
          body.fp = rng.pick([fpRx, fingerprintText(rng.bytes(32)), `${fpPeer} `, fpPeer.replace('sha-256', 'sha-1')]);
          break;
        case 'fp-missing':
          delete body.fp;
          break;
        case 'fp-extra':
          body.fp = rng.chance(0.5) ? fpPeer : rng.string(rng.range(1, 40));
          break;
        case 'fp-case':
          body.fp = fpPeer.toLowerCase();
          break;
        case 'eph-low-order':
          body.eph = rng.pick(LOW_ORDER_X25519);
          break;
        case 'eph-other':
          body.eph = toHex(generateLinkKeyPair(rng.bytes(32)).publicKey);
          break;
        case 'eph-rx':
          // The receiver's own ephemeral key sent back.
          body.eph = toHex(generateLinkKeyPair(sc.rxSecret).publicKey);
          break;
        case 'eph-random-bytes':
          body.eph = toHex(rng.bytes(32));
          break;
        case 'eph-upper':
          body.eph = (body.eph as string).toUpperCase();
          break;
        case 'other-scenario':
          // Another link's honest handshake body (its session, eph and fp), or this one's.
          return { body: { ...rng.pick(scenarios).peerBody }, label: 'semantic:other-scenario' };
      }
      return { body, label: `semantic:${op}` };
    };

    /** A first message signed by `signer` (its key in `from`) with `body` (any bytes) and the rest of a pool item's header. */
    const signedFirst = (signer: Identity, base: Uint8Array, body: Uint8Array, type?: number): Uint8Array => {
      const unsigned = withBody(base, body, type);
      unsigned.set(signer.publicKey, 4);
      return resign(signer, unsigned);
    };

    const firstMessage = (rng: Rng, sc: Scenario): { input: unknown; label: string; signedByPeer: boolean; mustAccept: boolean } => {
      const item = rng.pick(sc.pool);
      const bodyBytes = item.subarray(52, item.length - 64);
      const kind = rng.weighted([
        [10, 'valid'], [28, 'bytes'], [10, 'resigned'], [12, 'resigned-body'], [16, 'semantic'], [4, 'other-type'], [8, 'forged'],
        [3, 'v2'], [4, 'skew'], [3, 'random'], [1, 'oversize'], [1, 'non-bytes'],
      ] as const);
      switch (kind) {
        case 'valid':
          return { input: item, label: 'valid', signedByPeer: false, mustAccept: true };
        case 'bytes': {
          const m = mutateBytes(rng, item, { others: allFirst, lengthFields: LENGTH_FIELDS });
          return { input: m.value, label: m.label, signedByPeer: false, mustAccept: false };
        }
        case 'resigned': {
          const m = mutateBytes(rng, item.subarray(0, item.length - 64), { lengthFields: LENGTH_FIELDS });
          return { input: resign(PEER, m.value), label: `resigned:${m.label}`, signedByPeer: true, mustAccept: false };
        }
        case 'resigned-body': {
          let v = JSON.parse(new TextDecoder().decode(bodyBytes)) as Json;
          const labels: string[] = [];
          for (let n = rng.range(1, 2); n > 0; n--) {
            const m = mutateJson(rng, v);
            v = m.value;
            labels.push(m.label);
          }
          return { input: signedFirst(PEER, item, serialize(rng, v)), label: `resigned:${labels.join('+')}`, signedByPeer: true, mustAccept: false };
        }
        case 'semantic': {
          const m = semanticBody(rng, sc);
          return { input: signedFirst(PEER, item, serialize(rng, m.body as Json)), label: m.label, signedByPeer: true, mustAccept: false };
        }
        case 'other-type': {
          // Another message type first (valid body of its type), or the handshake body under another code.
          const type = rng.pick(ALL_TYPES.filter((t) => t !== MessageType.HANDSHAKE));
          if (rng.chance(0.7)) {
            const msg = { ...validMessage(rng, type, NOW), seq: 1 } as Message;
            return { input: encodeEnvelope(PEER, msg, { maxBytes: LINK_MAX_BYTES }), label: 'other-type', signedByPeer: true, mustAccept: false };
          }
          return { input: signedFirst(PEER, item, bodyBytes, type), label: 'other-type:relabel', signedByPeer: true, mustAccept: false };
        }
        case 'forged': {
          const op = rng.pick(['third', 'stranger', 'reflected', 'from-swapped', 'rx-signed']);
          switch (op) {
            case 'third':
              return { input: signedFirst(THIRD, item, bodyBytes), label: 'forged:third', signedByPeer: false, mustAccept: false };
            case 'stranger': {
              // A stranger's own handshake with its own key, for the receiver, on this session.
              const body = { ...sc.peerBody, eph: toHex(generateLinkKeyPair(rng.bytes(32)).publicKey) };
              return { input: signedFirst(STRANGER, item, serialize(rng, body as Json)), label: 'forged:stranger', signedByPeer: false, mustAccept: false };
            }
            case 'reflected':
              return { input: sc.rxHandshake, label: 'forged:reflected', signedByPeer: false, mustAccept: false };
            case 'rx-signed':
              return { input: signedFirst(RX, item, bodyBytes), label: 'forged:rx-signed', signedByPeer: false, mustAccept: false };
            default: {
              // The peer's key in `from`, a third identity's signature.
              const forged = signedFirst(THIRD, item, bodyBytes);
              forged.set(PEER.publicKey, 4);
              return { input: forged, label: 'forged:from-swapped', signedByPeer: false, mustAccept: false };
            }
          }
        }
        case 'v2': {
          const key = rng.pick([sc.peerKeys.send, sc.peerKeys.recv, rng.bytes(32)]);
          const u = Uint8Array.from(item.subarray(0, item.length - 64));
          u[2] = 2;
          return { input: retag(key, u), label: 'v2', signedByPeer: false, mustAccept: false };
        }
        case 'skew': {
          const u = Uint8Array.from(item.subarray(0, item.length - 64));
          const ts = NOW + rng.pick([-1, 1]) * rng.pick([HANDSHAKE_MAX_SKEW_MS, HANDSHAKE_MAX_SKEW_MS + 1, HANDSHAKE_MAX_SKEW_MS * 2, 3_600_000, NOW]);
          new DataView(u.buffer).setBigUint64(40, BigInt(Math.max(0, ts)));
          return { input: resign(PEER, u), label: 'skew', signedByPeer: true, mustAccept: false };
        }
        case 'random': {
          const rest = rng.bytes(rng.size(400));
          return { input: rng.chance(0.5) ? rest : Uint8Array.from([0x4b, 0x50, 1, MessageType.HANDSHAKE, ...rest]), label: 'random', signedByPeer: false, mustAccept: false };
        }
        case 'oversize': {
          const big = new Uint8Array(LINK_MAX_BYTES + rng.range(1, 64));
          big.set(item);
          return { input: big, label: 'oversize', signedByPeer: false, mustAccept: false };
        }
        default:
          return { input: rng.pick(NON_BYTES)(), label: 'non-bytes', signedByPeer: false, mustAccept: false };
      }
    };

    /** A tagged frame for a session whose handshake is done, as the peer (or someone else) would send it. */
    const laterMessage = (rng: Rng, st: HsState): { input: unknown; label: string; taggedByPeer: boolean; mustAccept: boolean; template?: Uint8Array } => {
      const sc = st.sc!;
      const keys = st.rx!.keys!;
      const nextSeq = st.lastSeq + 1 + rng.int(4);
      const canSend = nextSeq <= 0xffffffff;
      const seq = canSend ? nextSeq : 0xffffffff;
      const type = rng.chance(0.08) ? MessageType.HANDSHAKE : rng.pick(ALL_TYPES);
      const frame = validFrame(rng, PEER, st.peerSend!, type, seq, NOW + rng.range(-60_000, 60_000));
      const kind = rng.weighted([
        [12, 'frame'], [30, 'frame-bytes'], [10, 'frame-retagged'], [8, 'replay-handshake'], [8, 'reflected'],
        [6, 'replay-seq'], [5, 'wrong-sender'], [4, 'other-key'], [3, 'random'],
      ] as const);
      switch (kind) {
        case 'frame':
          return { input: frame, label: type === MessageType.HANDSHAKE ? 'frame:handshake' : 'frame', taggedByPeer: true, mustAccept: canSend && type !== MessageType.HANDSHAKE };
        case 'frame-bytes': {
          const m = mutateBytes(rng, frame, { lengthFields: LENGTH_FIELDS });
          return { input: m.value, label: `frame:${m.label}`, taggedByPeer: false, mustAccept: false, template: frame };
        }
        case 'frame-retagged': {
          const m = rng.chance(0.5)
            ? mutateBytes(rng, untagged(frame), { lengthFields: LENGTH_FIELDS })
            : (() => {
                const b = mutatedBody(rng, { bytes: frame, type }, TAG);
                return { value: withBody(frame, b.body), label: b.label };
              })();
          return { input: retag(st.peerSend!, m.value), label: `frame-retagged:${m.label}`, taggedByPeer: true, mustAccept: false };
        }
        case 'replay-handshake':
          // The first message again, signed: a link with keys takes only tagged envelopes.
          return { input: rng.pick(sc.pool), label: 'replay-handshake', taggedByPeer: false, mustAccept: false };
        case 'reflected':
          // What the receiver itself sends on this link, bounced back at it.
          return { input: validFrame(rng, rng.chance(0.5) ? RX : PEER, keys.send, rng.pick(ALL_TYPES), seq, NOW), label: 'reflected', taggedByPeer: false, mustAccept: false };
        case 'replay-seq': {
          const old = st.lastSeq >= 0 ? rng.int(st.lastSeq + 1) : 0;
          return { input: validFrame(rng, PEER, st.peerSend!, rng.pick(ALL_TYPES), old, NOW), label: 'replay-seq', taggedByPeer: true, mustAccept: false };
        }
        case 'wrong-sender':
          // Tagged with the right key, but another node in `from`.
          return { input: validFrame(rng, rng.pick([THIRD, RX, STRANGER]), st.peerSend!, rng.pick(ALL_TYPES), seq, NOW), label: 'wrong-sender', taggedByPeer: true, mustAccept: false };
        case 'other-key': {
          const o = rng.pick(scenarios.filter((s) => s !== sc));
          return { input: validFrame(rng, PEER, o.peerKeys.send, rng.pick(ALL_TYPES), seq, NOW), label: 'other-link-key', taggedByPeer: false, mustAccept: false };
        }
        default: {
          const rest = rng.bytes(rng.size(300));
          return { input: rng.chance(0.5) ? rest : Uint8Array.from([0x4b, 0x50, 2, rng.pick(ALL_TYPES), ...rest]), label: 'random', taggedByPeer: false, mustAccept: false };
        }
      }
    };

    const checkKeysUnchanged = (st: HsState, what: string): void => {
      const k = st.rx!.keys;
      check(k === st.agreed!.ref && toHex(k.send) === st.agreed!.send && toHex(k.recv) === st.agreed!.recv, `the link keys changed after ${what}`);
    };

    return {
      last,
      newSession: (): HsState => ({ lastSeq: -1 }),
      runCase(rng, session): CaseOutcome {
        const st = session as HsState;
        if (!st.rx) {
          // The link opened and this side sent its handshake (the mesh's order: onOpen, then messages).
          const sc = (st.sc = rng.pick(scenarios));
          st.rx = new LinkSession(RX, PEER.nodeId, sc.session, new FingerprintLink(PEER.nodeId, sc.fps), () => Uint8Array.from(sc.rxSecret));
          st.rx.handshake();
        }
        const sc = st.sc!;
        const rx = st.rx;
        const seqBefore = st.lastSeq;

        if (!rx.keys) {
          const c = firstMessage(rng, sc);
          last.set(`${sc.name}:${c.label}`, c.input);
          const r = typed(HANDSHAKE_CODES, () => {
            const env = decodeEnvelope(c.input as Uint8Array, { maxBytes: LINK_MAX_BYTES, now: NOW, maxSkewMs: HANDSHAKE_MAX_SKEW_MS });
            if (env.fromId !== PEER.nodeId) throw new KpcError('PROTO_WRONG_SENDER', 'envelope signed by another node than the link peer');
            if (env.seq <= st.lastSeq) throw new KpcError('PROTO_REPLAY', 'envelope seq not above the last one on this link');
            rx.accept(env);
            return env;
          });
          if (!r.ok) {
            if (c.mustAccept) throw new FuzzViolation(`the honest peer's handshake was refused: ${r.code}: ${r.error.message}`);
            check(r.code !== 'PROTO_BAD_MAC', 'a tag was checked before the link had keys');
            check(rx.keys === undefined, `a refused handshake (${r.code}) left link keys behind`);
            check(st.lastSeq === seqBefore, 'a refused handshake moved the last seq');
            return { outcome: r.code, mutation: c.label };
          }
          const env = r.value;
          const keys = keysOf(rx);
          check(keys !== undefined, 'accept() returned without keys');
          check(env.type === MessageType.HANDSHAKE, `keys were agreed on a ${env.type} message`);
          check(env.fromId === PEER.nodeId, 'keys were agreed with a handshake another node signed');
          check(Math.abs(env.timestamp - NOW) <= HANDSHAKE_MAX_SKEW_MS, 'a stale handshake was accepted');
          const body = env.body as HandshakeBody;
          check(body.to === RX.nodeId, 'a handshake for another node was accepted');
          check(body.session === sc.session, 'a handshake for another session was accepted');
          if (sc.fps) check(body.fp === sc.fps.remote, 'a handshake with another fingerprint was accepted');
          if (!c.signedByPeer) check(sc.valid.has(toHex(c.input as Uint8Array)), 'FORGERY: a modified handshake was accepted without being re-signed');
          // Symmetry with the honest peer, or (a peer that signed another ephemeral key) the derivation from what it signed.
          const expected =
            body.eph === sc.peerBody.eph
              ? { send: sc.peerKeys.recv, recv: sc.peerKeys.send }
              : deriveLinkKeys({
                  own: generateLinkKeyPair(sc.rxSecret), peerEphemeral: fromHex(body.eph), ownIdentity: RX.publicKey, peerIdentity: PEER.publicKey, session: sc.session,
                });
          check(equalBytes(keys.send, expected.send) && equalBytes(keys.recv, expected.recv), 'the agreed keys are not the ones the peer derives (A.send = B.recv, A.recv = B.send)');
          check(!equalBytes(keys.send, keys.recv), 'send and receive keys are equal');
          st.lastSeq = env.seq;
          st.agreed = { send: toHex(keys.send), recv: toHex(keys.recv), ref: keys };
          st.peerSend = expected.recv;
          return { outcome: c.signedByPeer ? 'ok(handshake,re-signed)' : 'ok(handshake)', mutation: c.label };
        }

        // Keys agreed: what the mesh does with every later message on the link.
        const c = laterMessage(rng, st);
        last.set(`${sc.name}:${c.label}`, c.input);
        const keys = rx.keys;
        const r = typed(HANDSHAKE_CODES, () => {
          const env = decodeEnvelope(c.input as Uint8Array, { maxBytes: LINK_MAX_BYTES, macKey: keys.recv });
          if (env.fromId !== PEER.nodeId) throw new KpcError('PROTO_WRONG_SENDER', 'envelope signed by another node than the link peer');
          if (env.seq <= st.lastSeq) throw new KpcError('PROTO_REPLAY', 'envelope seq not above the last one on this link');
          // The mesh drops a late HANDSHAKE in its type switch; the session itself must refuse a second one too.
          if (env.type === MessageType.HANDSHAKE) rx.accept(env);
          return env;
        });
        checkKeysUnchanged(st, c.label);
        if (!r.ok) {
          if (c.mustAccept) throw new FuzzViolation(`a valid frame from the peer was refused: ${r.code}: ${r.error.message}`);
          check(r.code !== 'PROTO_BAD_SIGNATURE' && r.code !== 'PROTO_CLOCK_SKEW' && r.code !== 'CRYPTO_BAD_KEY', `${r.code} on a link with keys`);
          check(st.lastSeq === seqBefore, 'a refused frame moved the last seq');
          return { outcome: `${r.code}(frame)`, mutation: c.label };
        }
        const env = r.value;
        check(env.type !== MessageType.HANDSHAKE, 'a second handshake was taken');
        checkTag(env, st.peerSend!);
        check(env.fromId === PEER.nodeId && env.seq > seqBefore, 'a frame from another sender or with an old seq was taken');
        if (c.taggedByPeer) checkCanonicalBody(env.type, env.body, env.bytes, TAG);
        else check(c.template !== undefined && equalBytes(env.bytes, c.template), 'FORGERY: a modified frame was accepted without being re-tagged');
        st.lastSeq = env.seq;
        return { outcome: c.taggedByPeer ? 'ok(frame)' : 'ok(frame,unmodified)', mutation: c.label };
      },
    };
  },
};

export const LINK_TARGETS: readonly FuzzTarget[] = [linkEnvelope, handshake];
