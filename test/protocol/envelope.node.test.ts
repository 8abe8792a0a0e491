import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { concatBytes, utf8Encode } from '../../src/crypto/bytes.js';
import { sign } from '../../src/crypto/identity.js';
import {
  DEFAULT_MAX_ENVELOPE_BYTES,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_MIN_BYTES,
  ENVELOPE_SIGNING_DOMAIN,
  MessageType,
  decodeEnvelope,
  encodeEnvelope,
  type Message,
} from '../../src/protocol/index.js';
import { IDENTITIES, expectCode, expectDecodedAs, identityArb, kpcErrorOf, messageArb, rawEnvelope } from './arbitraries.js';

const [alice, bob] = IDENTITIES;
const hello: Message = { type: MessageType.HELLO, seq: 1, timestamp: 1_700_000_000_000, body: { clusterId: 'demo', state: 'READY' } };
const RUNS = { numRuns: 150 };

describe('envelope round trip', () => {
  it('decodes every valid message of every type to what was sent', () => {
    fc.assert(
      fc.property(identityArb, messageArb, (id, msg) => {
        const bytes = encodeEnvelope(id, msg);
        expectDecodedAs(decodeEnvelope(bytes), msg, id, bytes, 1);
        // Deterministic: Ed25519 and canonical JSON give identical bytes every time.
        expect(encodeEnvelope(id, msg)).to.deep.equal(bytes);
      }),
      RUNS,
    );
  });

  it('lays bytes out exactly as documented (independent writer)', () => {
    fc.assert(
      fc.property(identityArb, messageArb, (id, msg) => {
        const bytes = encodeEnvelope(id, msg);
        const body = bytes.subarray(ENVELOPE_HEADER_BYTES, bytes.length - 64);
        expect(rawEnvelope(id, { type: msg.type, seq: msg.seq, timestamp: msg.timestamp, body })).to.deep.equal(bytes);
      }),
      { numRuns: 50 },
    );
    const bytes = encodeEnvelope(alice, { type: MessageType.APP, seq: 0x01020304, timestamp: 0x0102030405, body: new Uint8Array([9, 8]) });
    expect(Array.from(bytes.subarray(0, 4))).to.deep.equal([0x4b, 0x50, 1, 0xf0]);
    expect(Array.from(bytes.subarray(36, 52))).to.deep.equal([1, 2, 3, 4, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0, 2]);
    expect(bytes.length).to.equal(ENVELOPE_MIN_BYTES + 2);
  });

  it('decodes from a view into a larger buffer, and copies what it returns', () => {
    const bytes = encodeEnvelope(alice, { ...hello, type: MessageType.APP, body: new Uint8Array([1, 2, 3]) } as Message);
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 5);
    const env = decodeEnvelope(big.subarray(5, 5 + bytes.length));
    big.fill(0);
    expect(env.body).to.deep.equal(new Uint8Array([1, 2, 3]));
    expect(env.bytes).to.deep.equal(bytes);
  });
});

describe('envelope tampering is rejected', () => {
  const tamperArb = fc.tuple(identityArb, messageArb, fc.nat(), fc.integer({ min: 1, max: 255 }));

  it('flipping any body byte → PROTO_BAD_SIGNATURE', () => {
    fc.assert(
      fc.property(
        tamperArb.filter(([id, m]) => encodeEnvelope(id, m).length > ENVELOPE_MIN_BYTES),
        ([id, msg, at, mask]) => {
          const bytes = encodeEnvelope(id, msg);
          const bodyLen = bytes.length - ENVELOPE_MIN_BYTES;
          bytes[ENVELOPE_HEADER_BYTES + (at % bodyLen)] ^= mask;
          expectCode(() => decodeEnvelope(bytes), 'PROTO_BAD_SIGNATURE');
        },
      ),
      RUNS,
    );
  });

  it('flipping any signature byte → PROTO_BAD_SIGNATURE', () => {
    fc.assert(
      fc.property(tamperArb, ([id, msg, at, mask]) => {
        const bytes = encodeEnvelope(id, msg);
        bytes[bytes.length - 64 + (at % 64)] ^= mask;
        expectCode(() => decodeEnvelope(bytes), 'PROTO_BAD_SIGNATURE');
      }),
      RUNS,
    );
  });

  it('flipping any header byte → a KpcError (signed fields: PROTO_BAD_SIGNATURE)', () => {
    fc.assert(
      fc.property(tamperArb, ([id, msg, at, mask]) => {
        const bytes = encodeEnvelope(id, msg);
        const i = at % ENVELOPE_HEADER_BYTES;
        bytes[i] ^= mask;
        const err = kpcErrorOf(() => decodeEnvelope(bytes));
        if (i < 2) expect(err.code).to.equal('PROTO_MALFORMED');
        else if (i === 2) expect(err.code).to.equal('PROTO_BAD_VERSION');
        else if (i === 3) expect(err.code).to.be.oneOf(['PROTO_UNKNOWN_TYPE', 'PROTO_BAD_SIGNATURE']);
        else if (i >= 48) expect(err.code).to.equal('PROTO_MALFORMED'); // bodyLength no longer matches
        else if (i >= 40 && i < 42) expect(err.code).to.be.oneOf(['PROTO_MALFORMED', 'PROTO_BAD_SIGNATURE']); // ts > 2^53
        else expect(err.code).to.equal('PROTO_BAD_SIGNATURE');
      }),
      { numRuns: 300 },
    );
  });

  it('re-signing with another key while keeping `from` → PROTO_BAD_SIGNATURE', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const bytes = encodeEnvelope(alice, msg);
        const unsigned = bytes.subarray(0, bytes.length - 64);
        const forged = concatBytes(unsigned, sign(bob, concatBytes(utf8Encode(ENVELOPE_SIGNING_DOMAIN), unsigned)));
        expectCode(() => decodeEnvelope(forged), 'PROTO_BAD_SIGNATURE');
      }),
      { numRuns: 50 },
    );
  });

  it('a signature without the domain prefix does not verify', () => {
    const bytes = encodeEnvelope(alice, hello);
    const unsigned = bytes.subarray(0, bytes.length - 64);
    expectCode(() => decodeEnvelope(concatBytes(unsigned, sign(alice, unsigned))), 'PROTO_BAD_SIGNATURE');
  });
});

describe('envelope validation order and limits', () => {
  it('size first: oversize input is PROTO_OVERSIZE whatever it contains', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 201, maxLength: 400 }), (junk) => {
        expectCode(() => decodeEnvelope(junk, { maxBytes: 200 }), 'PROTO_OVERSIZE');
      }),
    );
    const valid = encodeEnvelope(alice, hello);
    expectCode(() => decodeEnvelope(valid, { maxBytes: valid.length - 1 }), 'PROTO_OVERSIZE');
    expect(decodeEnvelope(valid, { maxBytes: valid.length }).type).to.equal(MessageType.HELLO);
    expectCode(() => decodeEnvelope(new Uint8Array(DEFAULT_MAX_ENVELOPE_BYTES + 1)), 'PROTO_OVERSIZE');
  });

  it('then magic, version, type, lengths, signature, body', () => {
    const good = encodeEnvelope(alice, hello);
    const badMagicAndType = good.slice();
    badMagicAndType[0] = 0;
    badMagicAndType[3] = 0xee;
    expectCode(() => decodeEnvelope(badMagicAndType), 'PROTO_MALFORMED');
    const badVersionAndType = good.slice();
    badVersionAndType[2] = 2;
    badVersionAndType[3] = 0xee;
    expectCode(() => decodeEnvelope(badVersionAndType), 'PROTO_BAD_VERSION');
    // Unknown type is reported even when the rest is too short to be an envelope.
    expectCode(() => decodeEnvelope(new Uint8Array([0x4b, 0x50, 1, 0xee])), 'PROTO_UNKNOWN_TYPE');
    expectCode(() => decodeEnvelope(new Uint8Array([0x4b, 0x50, 1, 0x00])), 'PROTO_UNKNOWN_TYPE');
    expectCode(() => decodeEnvelope(good.subarray(0, good.length - 1)), 'PROTO_MALFORMED');
    expectCode(() => decodeEnvelope(concatBytes(good, new Uint8Array(1))), 'PROTO_MALFORMED');
    expectCode(() => decodeEnvelope(good.subarray(0, 3)), 'PROTO_MALFORMED');
    // A correctly signed envelope with an invalid body: signature passes, body fails.
    const badBody = rawEnvelope(alice, { type: MessageType.HELLO, seq: 1, timestamp: 1, body: utf8Encode('{"clusterId":"c","state":"NOPE"}') });
    expectCode(() => decodeEnvelope(badBody), 'PROTO_BAD_BODY');
    // Bad signature wins over bad body: unauthenticated bodies are never parsed.
    const both = badBody.slice();
    both[both.length - 1] ^= 1;
    expectCode(() => decodeEnvelope(both), 'PROTO_BAD_SIGNATURE');
  });

  it('signed envelopes with malformed bodies of every JSON type → PROTO_BAD_BODY', () => {
    const bodies = ['', 'null', '[]', '{}', '{"a":1}', '\xff', '{"nonce":1} ', 'true'];
    const jsonTypes = [MessageType.HELLO, MessageType.HEARTBEAT, MessageType.HEARTBEAT_ACK, MessageType.GOODBYE, MessageType.ANNOUNCE, MessageType.SIGNAL];
    for (const type of jsonTypes) {
      for (const text of bodies) {
        const env = rawEnvelope(alice, { type, seq: 0, timestamp: 0, body: utf8Encode(text) });
        expectCode(() => decodeEnvelope(env), 'PROTO_BAD_BODY');
      }
    }
    const version2 = rawEnvelope(alice, { type: MessageType.HELLO, seq: 0, timestamp: 0, body: new Uint8Array(0), version: 2 });
    expectCode(() => decodeEnvelope(version2), 'PROTO_BAD_VERSION');
  });

  it('rejects timestamps beyond 2^53 − 1 as malformed', () => {
    const env = encodeEnvelope(alice, hello);
    env.fill(0xff, 40, 48);
    expectCode(() => decodeEnvelope(env), 'PROTO_MALFORMED');
  });

  it('optionally rejects clock skew', () => {
    const env = encodeEnvelope(alice, hello);
    const t = hello.timestamp;
    expect(decodeEnvelope(env, { now: t + 1000, maxSkewMs: 1000 }).seq).to.equal(1);
    expect(decodeEnvelope(env, { now: t - 1000, maxSkewMs: 1000 }).seq).to.equal(1);
    expectCode(() => decodeEnvelope(env, { now: t + 1001, maxSkewMs: 1000 }), 'PROTO_CLOCK_SKEW');
    expectCode(() => decodeEnvelope(env, { now: t - 1001, maxSkewMs: 1000 }), 'PROTO_CLOCK_SKEW');
    expectCode(() => decodeEnvelope(env, { maxSkewMs: 1000 }), 'PROTO_CLOCK_SKEW'); // 2023 vs Date.now()
    expect(decodeEnvelope(env).seq).to.equal(1); // no check unless asked
  });
});

describe('encodeEnvelope input checks', () => {
  it('rejects bad headers, bodies, types and oversize output with typed errors', () => {
    expectCode(() => encodeEnvelope(alice, { ...hello, seq: -1 }), 'PROTO_MALFORMED');
    expectCode(() => encodeEnvelope(alice, { ...hello, seq: 2 ** 32 }), 'PROTO_MALFORMED');
    expectCode(() => encodeEnvelope(alice, { ...hello, seq: 1.5 }), 'PROTO_MALFORMED');
    expectCode(() => encodeEnvelope(alice, { ...hello, timestamp: -1 }), 'PROTO_MALFORMED');
    expectCode(() => encodeEnvelope(alice, { ...hello, timestamp: 2 ** 53 }), 'PROTO_MALFORMED');
    expectCode(() => encodeEnvelope(alice, { ...hello, type: 0x2f } as unknown as Message), 'PROTO_UNKNOWN_TYPE');
    expectCode(() => encodeEnvelope(alice, { ...hello, body: { clusterId: 'c' } } as unknown as Message), 'PROTO_BAD_BODY');
    expectCode(() => encodeEnvelope(alice, null as unknown as Message), 'PROTO_MALFORMED');
    const big: Message = { type: MessageType.APP, seq: 0, timestamp: 0, body: new Uint8Array(DEFAULT_MAX_ENVELOPE_BYTES) };
    expectCode(() => encodeEnvelope(alice, big), 'PROTO_OVERSIZE');
    expect(encodeEnvelope(alice, big, { maxBytes: DEFAULT_MAX_ENVELOPE_BYTES + ENVELOPE_MIN_BYTES }).length).to.equal(
      DEFAULT_MAX_ENVELOPE_BYTES + ENVELOPE_MIN_BYTES,
    );
    expectCode(() => encodeEnvelope({ ...alice, publicKey: new Uint8Array(3) }, hello), 'CRYPTO_BAD_KEY');
    expectCode(() => encodeEnvelope({ ...alice, publicKey: bob.publicKey }, hello), 'CRYPTO_BAD_KEY');
  });
});
