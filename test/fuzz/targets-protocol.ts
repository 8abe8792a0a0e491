/**
 * Fuzz targets of the wire layer: the signed envelope (binary and base64 text), the
 * JSON body validators, and the signaling server's frame validation. The HMAC-tagged
 * link envelope and the link handshake are in targets-link.ts.
 */
import { concatBytes, equalBytes, toBase64, toHex, utf8Encode } from '../../src/crypto/bytes.js';
import { linkTag } from '../../src/crypto/link-keys.js';
import type { Identity } from '../../src/crypto/identity.js';
import {
  ENVELOPE_SIGNING_DOMAIN,
  LINK_ENVELOPE_DOMAIN,
  MessageType,
  PROTOCOL_STATES,
  canonicalJsonBytes,
  decodeBody,
  decodeEnvelope,
  decodeEnvelopeText,
  encodeBody,
  encodeEnvelope,
  type Message,
  type MessageTypeCode,
} from '../../src/protocol/index.js';
import { sign } from '../../src/crypto/identity.js';
import { DEFAULTS, ERROR_CODES, parseFrame } from '../../server/validate.mjs';
import { FuzzViolation, check, stateless, typed, type CaseOutcome, type FuzzTarget, type TargetInstance } from './engine.js';
import { deepJsonText, mutateBytes, mutateJson, mutateText, randomJson, type Json, type LengthField } from './mutate.js';
import { Rng, fixedIdentity } from './prng.js';

/** Virtual "now" of every target: all pools are built around it. */
export const NOW = 1_800_000_000_000;
/** Signaling refuses envelopes further than this from its clock (src/mesh/discovery.ts). */
const SIGNALING_MAX_AGE_MS = 30_000;

/**
 * Rejection codes of the signed (v1) envelope decoder. `PROTO_BAD_MAC` is not among them:
 * without a link key the decoder never checks a tag (a v2 envelope is `PROTO_BAD_VERSION`).
 * The link targets (targets-link.ts) add it.
 */
export const PROTO_CODES = [
  'PROTO_OVERSIZE', 'PROTO_MALFORMED', 'PROTO_BAD_VERSION', 'PROTO_UNKNOWN_TYPE', 'PROTO_CLOCK_SKEW', 'PROTO_BAD_SIGNATURE', 'PROTO_BAD_BODY',
] as const;

export const IDS: readonly Identity[] = [0, 1, 2].map(fixedIdentity);
export const JSON_TYPES: readonly MessageTypeCode[] = [
  MessageType.HELLO, MessageType.HEARTBEAT, MessageType.HEARTBEAT_ACK, MessageType.GOODBYE, MessageType.HANDSHAKE, MessageType.ADMIT,
  MessageType.ANNOUNCE, MessageType.SIGNAL, MessageType.SYNC_STATE,
];
const RAW_TYPES: readonly MessageTypeCode[] = [MessageType.SYNC_DELTAS, MessageType.CONSENSUS, MessageType.INFER, MessageType.APP];
export const ALL_TYPES = [...JSON_TYPES, ...RAW_TYPES];
const DOMAIN = utf8Encode(ENVELOPE_SIGNING_DOMAIN);
/** Prefix of the bytes a link envelope's HMAC covers. */
export const LINK_DOMAIN = utf8Encode(LINK_ENVELOPE_DOMAIN);
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

/** A DTLS fingerprint as `sdpFingerprint` (src/mesh/webrtc-link.ts) normalises it. */
export function fingerprintText(bytes: Uint8Array): string {
  return `sha-256 ${Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
}

function nodeId(rng: Rng): string {
  return rng.chance(0.5) ? rng.pick(IDS).nodeId : toHex(rng.bytes(16));
}

function peers(rng: Rng): string[] {
  const set = new Set<string>();
  for (let n = rng.size(8); n > 0; n--) set.add(nodeId(rng));
  return [...set];
}

/** A valid body of a JSON message type. */
export function validBody(rng: Rng, type: MessageTypeCode): unknown {
  const state = rng.pick(PROTOCOL_STATES);
  const clusterId = rng.string(rng.range(1, 40));
  switch (type) {
    case MessageType.HELLO:
      return { clusterId, state };
    case MessageType.HEARTBEAT:
      return { nonce: rng.chance(0.1) ? Number.MAX_SAFE_INTEGER : rng.int(0x7fffffff), state, peers: peers(rng) };
    case MessageType.HEARTBEAT_ACK:
      return { nonce: rng.int(0x7fffffff) };
    case MessageType.GOODBYE:
      return { reason: rng.string(rng.size(100)) };
    case MessageType.ADMIT:
      return { proof: rng.chance(0.8) ? toBase64(rng.bytes(rng.range(53, 436))) : rng.string(rng.range(1, 600)) };
    case MessageType.HANDSHAKE: {
      // The mesh's sessions are 64 hex chars; the validator takes any 1–64 chars.
      const session = rng.chance(0.6) ? toHex(rng.bytes(rng.range(1, 32))) : rng.string(rng.range(1, 64));
      const body: Record<string, unknown> = { session, to: nodeId(rng), eph: toHex(rng.bytes(32)) };
      if (rng.chance(0.6)) body.fp = rng.chance(0.8) ? fingerprintText(rng.bytes(32)) : rng.string(rng.range(1, 256));
      return body;
    }
    case MessageType.ANNOUNCE: {
      const body: Record<string, unknown> = { clusterId, state };
      if (rng.chance(0.6)) body.peers = peers(rng);
      if (rng.chance(0.3)) body.proof = toBase64(rng.bytes(rng.range(52, 100)));
      return body;
    }
    case MessageType.SIGNAL: {
      const data = rng.pick([
        { type: 'offer', sdp: `v=0\r\no=- ${rng.int(1e9)} 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 ${toHex(rng.bytes(32))}\r\n` },
        { type: 'answer', sdp: `v=0\r\n${rng.string(rng.size(200))}` },
        { candidate: { candidate: `candidate:${rng.int(1e6)} 1 udp 2122260223 192.168.1.${rng.int(255)} ${rng.int(65535)} typ host`, sdpMLineIndex: 0, sdpMid: '0' } },
      ]);
      return { to: nodeId(rng), signal: { session: toHex(rng.bytes(8)), data } };
    }
    case MessageType.SYNC_STATE: {
      const vv: Record<string, number> = {};
      for (let n = rng.size(6); n > 0; n--) vv[nodeId(rng)] = rng.chance(0.1) ? 0xffffffff : rng.int(1000);
      return { vv };
    }
    default:
      return rng.bytes(rng.size(300));
  }
}

/** A message of `type` whose body is valid (some generated bodies are not: retried). */
export function validMessage(rng: Rng, type: MessageTypeCode, timestamp: number): Message {
  for (;;) {
    const body = validBody(rng, type);
    const msg = { type, seq: rng.chance(0.1) ? 0xffffffff : rng.int(100_000), timestamp, body } as Message;
    try {
      encodeBody(type, body as never);
      return msg;
    } catch {
      // e.g. a body field this version of bodies.ts does not know: draw another.
    }
  }
}

interface PoolItem {
  bytes: Uint8Array;
  identity: Identity;
  type: MessageTypeCode;
  timestamp: number;
}

/** Deterministic pool of valid envelopes of every type, timestamps around {@link NOW}. */
function envelopePool(size: number, spreadMs: number): PoolItem[] {
  const rng = new Rng(0xe4e1);
  const out: PoolItem[] = [];
  for (let i = 0; i < size; i++) {
    const identity = IDS[i % IDS.length];
    const type = ALL_TYPES[i % ALL_TYPES.length];
    const timestamp = NOW + rng.range(-spreadMs, spreadMs);
    out.push({ bytes: encodeEnvelope(identity, validMessage(rng, type, timestamp)), identity, type, timestamp });
  }
  return out;
}

function hexSet(items: readonly Uint8Array[]): Set<string> {
  return new Set(items.map(toHex));
}

/** Signs an unsigned envelope prefix (header ‖ body) as `identity`. */
export function resign(identity: Identity, unsigned: Uint8Array): Uint8Array {
  return concatBytes(unsigned, sign(identity, concatBytes(DOMAIN, unsigned)));
}

/** Tags an untagged link envelope prefix (header ‖ body) with `key`, as a v2 envelope's HMAC. */
export function retag(key: Uint8Array, unsigned: Uint8Array): Uint8Array {
  return concatBytes(unsigned, linkTag(key, LINK_DOMAIN, unsigned));
}

/** An unsigned envelope prefix with `body`, keeping the header of `base` (body length fixed up). */
export function withBody(base: Uint8Array, body: Uint8Array, type?: number): Uint8Array {
  const out = new Uint8Array(52 + body.length);
  out.set(base.subarray(0, 52));
  if (type !== undefined) out[3] = type;
  new DataView(out.buffer).setUint32(48, body.length);
  out.set(body, 52);
  return out;
}

/** Serializes a mutated JSON value: canonically mostly, sometimes not. */
export function serialize(rng: Rng, v: Json): Uint8Array {
  if (rng.chance(0.85)) {
    try {
      return canonicalJsonBytes(v);
    } catch {
      // fall through: not canonicalizable (too deep…)
    }
  }
  return utf8Encode(rng.chance(0.5) ? JSON.stringify(v) : JSON.stringify(v, null, rng.pick([1, '\t'])) ?? 'null');
}

export const NON_BYTES: readonly (() => unknown)[] = [
  () => undefined, () => null, () => 'KP', () => 42, () => ({ length: 200 }), () => [0x4b, 0x50, 1, 1],
  () => new ArrayBuffer(200), () => new Uint16Array(100), () => new DataView(new ArrayBuffer(130)), () => new Uint8ClampedArray(120),
];

/**
 * A valid body re-encoded after a JSON edit, or a byte edit of it. `tail` is the
 * length of the signature (64) or link tag (32) after the body.
 */
export function mutatedBody(rng: Rng, item: { bytes: Uint8Array; type: MessageTypeCode }, tail = 64): { body: Uint8Array; label: string } {
  const body = item.bytes.subarray(52, item.bytes.length - tail);
  if ((JSON_TYPES as readonly number[]).includes(item.type) && rng.chance(0.7)) {
    const m = mutateJson(rng, JSON.parse(new TextDecoder().decode(body)) as Json);
    return { body: serialize(rng, m.value), label: m.label };
  }
  const m = mutateBytes(rng, body);
  return { body: m.value, label: m.label };
}

/** Checks a successfully decoded, re-signed (or re-tagged) envelope: its body must have exactly one encoding. */
export function checkCanonicalBody(type: number, body: unknown, bytes: Uint8Array, tail = 64): void {
  const encoded = encodeBody(type as MessageTypeCode, body as never);
  check(equalBytes(encoded, bytes.subarray(52, bytes.length - tail)), `accepted a ${type} body that is not in canonical form`);
}

const envelope: FuzzTarget = {
  name: 'envelope',
  decoder: 'decodeEnvelope (src/protocol/envelope.ts)',
  codes: PROTO_CODES,
  testCases: 1500,
  async prepare(): Promise<TargetInstance<unknown>> {
    const pool = envelopePool(48, 3_600_000);
    const valid = hexSet(pool.map((p) => p.bytes));
    const others = pool.map((p) => p.bytes);
    const lengthFields: LengthField[] = [{ offset: 48, size: 4 }, { offset: 36, size: 4 }, { offset: 40, size: 8 }];
    return stateless((rng, last): CaseOutcome => {
      const item = rng.pick(pool);
      const kind = rng.weighted([
        [3, 'valid'], [50, 'bytes'], [14, 'resigned'], [14, 'resigned-body'], [4, 'resigned-type'],
        [5, 'random'], [5, 'skew'], [2, 'oversize'], [3, 'non-bytes'], [3, 'v2'],
      ] as const);
      let input: unknown;
      let label: string = kind;
      let signedByUs = false;
      let opts: { now?: number; maxSkewMs?: number } = {};
      switch (kind) {
        case 'valid':
          input = item.bytes;
          break;
        case 'bytes': {
          const m = mutateBytes(rng, item.bytes, { others, lengthFields });
          [input, label] = [m.value, m.label];
          break;
        }
        case 'resigned': {
          // Any edit of header and body, then a valid signature by the key in `from`:
          // everything before the body parser is passed, so the body validators are hit.
          const m = mutateBytes(rng, item.bytes.subarray(0, item.bytes.length - 64), { lengthFields });
          [input, label, signedByUs] = [resign(item.identity, m.value), `resigned:${m.label}`, true];
          break;
        }
        case 'resigned-body': {
          const m = mutatedBody(rng, item);
          [input, label, signedByUs] = [resign(item.identity, withBody(item.bytes, m.body)), `resigned:${m.label}`, true];
          break;
        }
        case 'resigned-type': {
          // A body of one type under another type's code (or an unregistered one).
          const type = rng.chance(0.8) ? rng.pick(ALL_TYPES) : rng.int(256);
          [input, label, signedByUs] = [resign(item.identity, withBody(item.bytes, item.bytes.subarray(52, item.bytes.length - 64), type)), 'resigned:type', true];
          break;
        }
        case 'random': {
          const rest = rng.bytes(rng.size(400));
          input = rng.chance(0.5) ? rest : concatBytes(new Uint8Array([0x4b, 0x50, 1, rng.pick(ALL_TYPES)]), rest);
          break;
        }
        case 'skew':
          input = item.bytes;
          opts = { now: item.timestamp + rng.range(-120_000, 120_000), maxSkewMs: rng.pick([0, 1000, 30_000, 60_000]) };
          break;
        case 'oversize':
          input = concatBytes(item.bytes, rng.bytes(64 * 1024 - item.bytes.length + rng.range(1, 64)));
          break;
        case 'non-bytes':
          input = rng.pick(NON_BYTES)();
          break;
        case 'v2': {
          // An HMAC-tagged link envelope (any key) where only signed ones are taken: PROTO_BAD_VERSION.
          const unsigned = Uint8Array.from(item.bytes.subarray(0, item.bytes.length - 64));
          unsigned[2] = 2;
          input = retag(rng.chance(0.5) ? rng.bytes(32) : new Uint8Array(32), unsigned);
          break;
        }
      }
      last.set(label, input);
      const r = typed(PROTO_CODES, () => decodeEnvelope(input as Uint8Array, opts));
      if (!r.ok) {
        if (kind === 'valid') throw new FuzzViolation(`a valid envelope was refused: ${r.code}`);
        if (kind === 'v2') check(r.code === 'PROTO_BAD_VERSION', `a v2 envelope without a link key gave ${r.code}, not PROTO_BAD_VERSION`);
        return { outcome: r.code, mutation: label };
      }
      const env = r.value;
      check(env.bytes instanceof Uint8Array && equalBytes(env.bytes, input as Uint8Array), 'decoded bytes differ from the input');
      if (signedByUs) checkCanonicalBody(env.type, env.body, env.bytes);
      else check(valid.has(toHex(env.bytes)), 'FORGERY: a modified envelope decoded without being re-signed');
      if (opts.maxSkewMs !== undefined) check(Math.abs(env.timestamp - opts.now!) <= opts.maxSkewMs, 'an envelope outside the skew window was accepted');
      return { outcome: signedByUs ? 'ok(re-signed)' : 'ok', mutation: label };
    });
  },
};

const envelopeText: FuzzTarget = {
  name: 'envelope-text',
  decoder: 'decodeEnvelopeText as signaling calls it (src/protocol/wire-text.ts, 64 KiB, ±30 s)',
  codes: PROTO_CODES,
  testCases: 1000,
  async prepare(): Promise<TargetInstance<unknown>> {
    const pool = envelopePool(36, 60_000);
    const valid = hexSet(pool.map((p) => p.bytes));
    const others = pool.map((p) => p.bytes);
    const maxChars = Math.ceil((64 * 1024) / 3) * 4;
    return stateless((rng, last): CaseOutcome => {
      const item = rng.pick(pool);
      const text = toBase64(item.bytes);
      const kind = rng.weighted([[4, 'valid'], [40, 'text'], [40, 'bytes'], [5, 'oversize'], [4, 'random'], [4, 'non-string']] as const);
      let input: unknown;
      let label: string = kind;
      switch (kind) {
        case 'valid':
          input = text;
          break;
        case 'text': {
          const m = mutateText(rng, text, B64);
          [input, label] = [m.value, m.label];
          break;
        }
        case 'bytes': {
          const m = mutateBytes(rng, item.bytes, { others, lengthFields: [{ offset: 48, size: 4 }, { offset: 40, size: 8 }] });
          [input, label] = [toBase64(m.value), m.label];
          break;
        }
        case 'oversize':
          input = (rng.chance(0.5) ? 'A' : text).repeat(Math.ceil((maxChars + 1) / text.length) + 1).slice(0, maxChars + rng.range(1, 8) * 4);
          break;
        case 'random':
          input = rng.string(rng.size(300));
          break;
        case 'non-string':
          input = rng.pick([undefined, null, 42, item.bytes, { data: text }, [text]]);
          break;
      }
      last.set(label, input);
      const r = typed(PROTO_CODES, () => decodeEnvelopeText(input as string, { maxBytes: 64 * 1024, now: NOW, maxSkewMs: SIGNALING_MAX_AGE_MS }));
      if (!r.ok) {
        if (kind === 'valid' && Math.abs(item.timestamp - NOW) <= SIGNALING_MAX_AGE_MS) throw new FuzzViolation(`a valid envelope text was refused: ${r.code}`);
        return { outcome: r.code, mutation: label };
      }
      check(valid.has(toHex(r.value.bytes)), 'FORGERY: a modified envelope text decoded');
      check(toBase64(r.value.bytes) === input, 'accepted a non-canonical base64 spelling');
      check(Math.abs(r.value.timestamp - NOW) <= SIGNALING_MAX_AGE_MS, 'accepted an envelope older than the signaling window');
      return { outcome: 'ok', mutation: label };
    });
  },
};

const bodies: FuzzTarget = {
  name: 'bodies',
  decoder: 'decodeBody for every JSON body type (src/protocol/bodies.ts)',
  codes: ['PROTO_BAD_BODY'],
  testCases: 2000,
  async prepare(): Promise<TargetInstance<unknown>> {
    return stateless((rng, last): CaseOutcome => {
      const type = rng.pick(JSON_TYPES);
      const body = canonicalJsonBytes(validMessage(rng, type, NOW).body as unknown as Json);
      const kind = rng.weighted([[5, 'valid'], [35, 'bytes'], [40, 'json'], [8, 'cross-type'], [4, 'deep'], [4, 'random'], [4, 'json-random']] as const);
      let input = body;
      let label: string = kind;
      let decodeAs = type;
      switch (kind) {
        case 'bytes': {
          const m = mutateBytes(rng, body);
          [input, label] = [m.value, m.label];
          break;
        }
        case 'json': {
          let v = JSON.parse(new TextDecoder().decode(body)) as Json;
          const labels: string[] = [];
          for (let n = rng.range(1, 3); n > 0; n--) {
            const m = mutateJson(rng, v);
            v = m.value;
            labels.push(m.label);
          }
          [input, label] = [serialize(rng, v), labels.join('+')];
          break;
        }
        case 'cross-type':
          decodeAs = rng.pick(JSON_TYPES);
          break;
        case 'deep':
          input = utf8Encode(deepJsonText(rng, rng.pick([31, 32, 33, 34, 1000, 60_000])));
          break;
        case 'random':
          input = rng.bytes(rng.size(200));
          break;
        case 'json-random':
          input = serialize(rng, randomJson(rng, 3));
          break;
      }
      last.set(`${label}@${decodeAs}`, input);
      const r = typed(['PROTO_BAD_BODY'], () => decodeBody(decodeAs, input));
      if (!r.ok) {
        if (kind === 'valid') throw new FuzzViolation(`a valid body was refused: ${r.error.message}`);
        return { outcome: r.code, mutation: label };
      }
      // Exactly one encoding per body: what decoded must re-encode to the same bytes.
      check(equalBytes(encodeBody(decodeAs, r.value as never), input), `accepted a non-canonical body of type ${decodeAs}`);
      return { outcome: 'ok', mutation: label };
    });
  },
};

type ParseResult = ReturnType<typeof parseFrame>;
const SERVER_PARSE_CODES = ['bad-json', 'oversize', 'unknown-type', 'bad-field', 'topic-too-long', 'too-many-topics'];

function checkParseResult(r: ParseResult, limits: typeof DEFAULTS): void {
  if (!r.ok) {
    check(SERVER_PARSE_CODES.includes(r.code) && (ERROR_CODES as readonly string[]).includes(r.code), `parseFrame returned an unknown code ${String(r.code)}`);
    check(typeof r.message === 'string', 'error frame without a message');
    return;
  }
  const m = r.msg;
  check(m !== null && typeof m === 'object', 'parseFrame accepted a non-object');
  if (m.type === 'subscribe' || m.type === 'unsubscribe') {
    check(Array.isArray(m.topics) && m.topics.length <= limits.maxTopicsPerConnection, 'accepted a topics list that is not bounded');
    for (const t of m.topics) check(typeof t === 'string' && t.length > 0 && t.length <= limits.maxTopicLength, 'accepted a bad topic');
  } else if (m.type === 'publish') {
    check(typeof m.topic === 'string' && m.topic.length > 0 && m.topic.length <= limits.maxTopicLength, 'accepted a publish without a valid topic');
  } else if (m.type === 'kpc-admit') {
    // Decoded and bounded before the server touches it: key and signature as bytes of their exact sizes.
    check(m.key instanceof Uint8Array && m.key.length === 32, 'accepted an admit whose key is not 32 bytes');
    check(m.sig instanceof Uint8Array && m.sig.length === 64, 'accepted an admit whose signature is not 64 bytes');
    check(typeof m.proof === 'string' && m.proof.length > 0 && m.proof.length <= 600, 'accepted an admit with an unbounded proof');
    check(typeof m.url === 'string' && m.url.length > 0 && m.url.length <= 1024, 'accepted an admit with an unbounded url');
    const extra = Object.keys(m).filter((k) => !['type', 'key', 'proof', 'sig', 'url'].includes(k));
    check(extra.length === 0, `accepted an admit with extra fields ${extra.join()}`);
  } else {
    check(m.type === 'ping', `accepted an unknown frame type ${String((m as { type: unknown }).type)}`);
  }
}

const signalingFrame: FuzzTarget = {
  name: 'signaling-frame',
  decoder: 'parseFrame + publish re-serialization (server/validate.mjs, server/signaling-server.mjs)',
  codes: [],
  testCases: 2000,
  async prepare(): Promise<TargetInstance<unknown>> {
    const texts = envelopePool(8, 10_000).map((p) => toBase64(p.bytes));
    // Proof bytes are only shape-checked by parseFrame (53–436 bytes of canonical base64).
    const admit = (rng: Rng): Json => ({
      type: 'kpc-admit',
      key: toBase64(rng.bytes(32)),
      proof: toBase64(rng.bytes(rng.range(53, 436))),
      sig: toBase64(rng.bytes(64)),
      url: rng.pick(['ws://127.0.0.1:8787', 'wss://signal.example/kpc', `ws://h${rng.int(1000)}:1`]),
    });
    const small = { ...DEFAULTS, maxFrameBytes: 512, maxTopicsPerConnection: 2, maxTopicLength: 24 };
    const validFrame = (rng: Rng): Json => {
      const cluster = `kpc/v1/${rng.string(rng.range(1, 12))}`;
      const topic = rng.chance(0.5) ? cluster : `${cluster}/${toHex(rng.bytes(16))}`;
      switch (rng.int(5)) {
        case 4:
          return admit(rng);
        case 0:
          return { type: 'subscribe', topics: rng.chance(0.5) ? [cluster, topic] : [topic] };
        case 1:
          return { type: 'unsubscribe', topics: [topic] };
        case 2:
          return { type: 'publish', topic, data: rng.pick(texts) };
        default:
          return { type: 'ping' };
      }
    };
    return stateless((rng, last): CaseOutcome => {
      const limits = rng.chance(0.85) ? DEFAULTS : small;
      const frame = validFrame(rng);
      const bytes = utf8Encode(JSON.stringify(frame));
      const kind = rng.weighted([[5, 'valid'], [35, 'bytes'], [35, 'json'], [5, 'deep'], [4, 'non-object'], [4, 'oversize'], [4, 'random'], [8, 'many-topics']] as const);
      let input = bytes;
      let label: string = kind;
      switch (kind) {
        case 'bytes': {
          const m = mutateBytes(rng, bytes);
          [input, label] = [m.value, m.label];
          break;
        }
        case 'json': {
          const m = mutateJson(rng, frame);
          [input, label] = [utf8Encode(JSON.stringify(m.value)), m.label];
          break;
        }
        case 'deep': {
          // Deep nesting inside a valid publish: JSON.parse copes, a recursive re-serialization may not.
          const depth = rng.pick([100, 5000, 20_000, 30_000]);
          const text = `{"type":"publish","topic":"t","data":${deepJsonText(rng, depth)}}`;
          input = utf8Encode(rng.chance(0.8) ? text : deepJsonText(rng, depth));
          break;
        }
        case 'non-object':
          input = utf8Encode(rng.pick(['null', '1', '"publish"', '[]', '[{"type":"ping"}]', 'true', '', ' ', '\ufeff{"type":"ping"}']));
          break;
        case 'oversize':
          input = utf8Encode(JSON.stringify({ type: 'publish', topic: 't', data: 'A'.repeat(limits.maxFrameBytes + rng.range(-40, 40)) }));
          break;
        case 'random':
          input = rng.bytes(rng.size(300));
          break;
        case 'many-topics': {
          const n = rng.pick([limits.maxTopicsPerConnection, limits.maxTopicsPerConnection + 1, 1000]);
          const topics = Array.from({ length: n }, (_, i) => (rng.chance(0.02) ? rng.pick(['', 'x'.repeat(limits.maxTopicLength + 1), 7, null]) : `t${i}`));
          input = utf8Encode(JSON.stringify({ type: rng.pick(['subscribe', 'unsubscribe']), topics }));
          break;
        }
      }
      // ws delivers a Buffer, an ArrayBuffer or (fragmented) a Buffer[].
      const form = rng.int(3);
      const data =
        form === 0 ? Buffer.from(input) : form === 1 ? input.slice().buffer : (() => {
          const cut = rng.int(input.length + 1);
          return [Buffer.from(input.subarray(0, cut)), Buffer.from(input.subarray(cut))];
        })();
      last.set(label, input);
      let r: ParseResult;
      try {
        r = parseFrame(data, limits);
      } catch (err) {
        throw new FuzzViolation(`escape: parseFrame threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      }
      checkParseResult(r, limits);
      if (!r.ok) return { outcome: r.code, mutation: label };
      if (r.msg.type === 'publish') {
        // What the server does next (signaling-server.mjs publish()): serialize once for every receiver.
        try {
          JSON.stringify({ ...r.msg, clients: 1 });
        } catch {
          return { outcome: 'bad-field(relay)', mutation: label };
        }
      }
      return { outcome: `ok:${r.msg.type}`, mutation: label };
    });
  },
};

export const PROTOCOL_TARGETS: readonly FuzzTarget[] = [envelope, envelopeText, bodies, signalingFrame];
