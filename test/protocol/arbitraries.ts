/** fast-check arbitraries and helpers shared by the protocol tests. */
import { expect } from 'chai';
import fc from 'fast-check';
import { concatBytes, toHex, utf8Encode } from '../../src/crypto/bytes.js';
import { generateIdentity, sign, type Identity } from '../../src/crypto/identity.js';
import { KpcError, type KpcErrorCode } from '../../src/errors.js';
import {
  ENVELOPE_SIGNING_DOMAIN,
  MAX_SIGNAL_BYTES,
  MessageType,
  PROTOCOL_STATES,
  canonicalJson,
  canonicalJsonBytes,
  type DecodedEnvelope,
  type Message,
} from '../../src/protocol/index.js';

/** A few fixed identities: key generation per run would only slow the suites down. */
export const IDENTITIES: readonly Identity[] = [generateIdentity(), generateIdentity(), generateIdentity()];
export const identityArb = fc.constantFrom(...IDENTITIES);

export const nodeIdArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(toHex);
export const stateArb = fc.constantFrom(...PROTOCOL_STATES);
/** Any Unicode (binary units include astral chars), within the 128 UTF-16 unit limit. */
export const clusterIdArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }).filter((s) => s.length <= 128);
export const peersArb = fc.uniqueArray(nodeIdArb, { maxLength: 64 });
export const nonceArb = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER));
export const u32Arb = fc.oneof(
  fc.tuple(fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff })).map(([hi, lo]) => hi * 0x10000 + lo),
  fc.constantFrom(0, 1, 0xffffffff),
);
export const timestampArb = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 1_700_000_000_000));

/** WebRTC-like signals plus arbitrary JSON objects, all within the size limit. */
export const signalArb: fc.Arbitrary<object> = fc
  .oneof(
    fc.record({ type: fc.constantFrom('offer', 'answer'), sdp: fc.string({ maxLength: 2000 }) }),
    fc.record({
      type: fc.constant('candidate'),
      candidate: fc.record({ candidate: fc.string(), sdpMLineIndex: fc.nat(8), sdpMid: fc.string({ maxLength: 4 }) }),
    }),
    fc.record({ session: fc.string({ maxLength: 16 }), data: fc.jsonValue({ maxDepth: 4 }) }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { noNullPrototype: true }),
  )
  .filter((s) => canonicalJsonBytes(s).length <= MAX_SIGNAL_BYTES);

const header = { seq: u32Arb, timestamp: timestampArb };

/** Any valid message of any registered type. */
export const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant(MessageType.HELLO), ...header, body: fc.record({ clusterId: clusterIdArb, state: stateArb }) }),
  fc.record({
    type: fc.constant(MessageType.HEARTBEAT),
    ...header,
    body: fc.record({ nonce: nonceArb, state: stateArb, peers: peersArb }),
  }),
  fc.record({ type: fc.constant(MessageType.HEARTBEAT_ACK), ...header, body: fc.record({ nonce: nonceArb }) }),
  fc.record({ type: fc.constant(MessageType.GOODBYE), ...header, body: fc.record({ reason: fc.string({ maxLength: 256 }) }) }),
  fc.record({
    type: fc.constant(MessageType.HANDSHAKE),
    ...header,
    body: fc.record(
      {
        session: fc.string({ minLength: 1, maxLength: 64 }),
        to: nodeIdArb,
        eph: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
        fp: fc.string({ minLength: 1, maxLength: 256 }),
      },
      { requiredKeys: ['session', 'to', 'eph'] },
    ),
  }),
  fc.record({ type: fc.constant(MessageType.ADMIT), ...header, body: fc.record({ proof: fc.base64String({ minLength: 4, maxLength: 600 }) }) }),
  fc.record({
    type: fc.constant(MessageType.ANNOUNCE),
    ...header,
    body: fc.record({ clusterId: clusterIdArb, state: stateArb, peers: peersArb }, { requiredKeys: ['clusterId', 'state'] }),
  }),
  fc.record({ type: fc.constant(MessageType.SIGNAL), ...header, body: fc.record({ to: nodeIdArb, signal: signalArb }) }),
  fc.record({
    type: fc.constant(MessageType.SYNC_STATE),
    ...header,
    body: fc.record({ vv: fc.dictionary(nodeIdArb, u32Arb, { maxKeys: 16, noNullPrototype: true }) }),
  }),
  fc.record({ type: fc.constant(MessageType.SYNC_DELTAS), ...header, body: fc.uint8Array({ maxLength: 2048 }) }),
  fc.record({ type: fc.constant(MessageType.CONSENSUS), ...header, body: fc.uint8Array({ maxLength: 2048 }) }),
  fc.record({ type: fc.constant(MessageType.INFER), ...header, body: fc.uint8Array({ maxLength: 2048 }) }),
  fc.record({ type: fc.constant(MessageType.APP), ...header, body: fc.uint8Array({ maxLength: 2048 }) }),
) as fc.Arbitrary<Message>;

/** Asserts that `env`, decoded from `bytes`, is `msg` as `id` sent it, in envelope version `version`. */
export function expectDecodedAs(env: DecodedEnvelope, msg: Message, id: Identity, bytes: Uint8Array, version: number): void {
  expect(env.version).to.equal(version);
  expect(env.type).to.equal(msg.type);
  expect(env.seq).to.equal(msg.seq);
  expect(env.timestamp).to.equal(msg.timestamp);
  expect(env.from).to.deep.equal(id.publicKey);
  expect(env.fromId).to.equal(id.nodeId);
  expect(env.body).to.deep.equal(expectedBody(msg));
  expect(env.bytes).to.deep.equal(bytes);
}

/** What a body should decode to: JSON bodies normalized through canonical JSON. */
export function expectedBody(msg: Message): unknown {
  return msg.body instanceof Uint8Array ? msg.body : JSON.parse(canonicalJson(msg.body));
}

/**
 * An independent envelope writer straight from the documented byte table, with
 * any type, version and body bytes, so tests can build signed-but-invalid envelopes
 * and cross-check the real encoder's layout.
 */
export function rawEnvelope(
  identity: Identity,
  fields: { type: number; seq: number; timestamp: number; body: Uint8Array; version?: number },
): Uint8Array {
  const head = new Uint8Array(52);
  const v = new DataView(head.buffer);
  head.set([0x4b, 0x50, fields.version ?? 1, fields.type]);
  head.set(identity.publicKey, 4);
  v.setUint32(36, fields.seq);
  v.setBigUint64(40, BigInt(fields.timestamp));
  v.setUint32(48, fields.body.length);
  const unsigned = concatBytes(head, fields.body);
  return concatBytes(unsigned, sign(identity, concatBytes(utf8Encode(ENVELOPE_SIGNING_DOMAIN), unsigned)));
}

/** Runs `fn`, and returns the KpcError it threw (failing if it threw anything else or nothing). */
export function kpcErrorOf(fn: () => unknown): KpcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KpcError) return err;
    throw new Error(`expected a KpcError, got ${String(err)}`);
  }
  throw new Error('expected a KpcError, nothing was thrown');
}

/** Asserts `fn` throws a KpcError with `code`. */
export function expectCode(fn: () => unknown, code: KpcErrorCode): void {
  const err = kpcErrorOf(fn);
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
}
