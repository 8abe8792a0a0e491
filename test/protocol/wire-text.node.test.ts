import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAX_ENVELOPE_BYTES,
  MessageType,
  decodeEnvelopeText,
  encodeEnvelope,
  envelopeFromText,
  envelopeToText,
} from '../../src/protocol/index.js';
import { IDENTITIES, expectCode, expectedBody, identityArb, messageArb } from './arbitraries.js';

describe('envelopes as text', () => {
  it('round-trip through base64 text (as in a y-webrtc publish frame)', () => {
    fc.assert(
      fc.property(identityArb, messageArb, (id, msg) => {
        const bytes = encodeEnvelope(id, msg);
        const text = envelopeToText(bytes);
        expect(text).to.equal(Buffer.from(bytes).toString('base64'));
        // Survives being a JSON string field, as signaling servers relay it.
        const frame = JSON.parse(JSON.stringify({ type: 'publish', topic: 't', data: text }));
        expect(envelopeFromText(frame.data)).to.deep.equal(bytes);
        const env = decodeEnvelopeText(frame.data);
        expect(env.fromId).to.equal(id.nodeId);
        expect(env.body).to.deep.equal(expectedBody(msg));
      }),
      { numRuns: 60 },
    );
  });

  it('rejects non-strings and non-canonical base64 as PROTO_MALFORMED', () => {
    for (const v of [null, 42, {}, new Uint8Array(4)]) expectCode(() => envelopeFromText(v as unknown as string), 'PROTO_MALFORMED');
    for (const s of ['A', 'QR==', 'S1AB-_==', ' S1AB', 'S1AB\n']) expectCode(() => envelopeFromText(s), 'PROTO_MALFORMED');
    expectCode(() => envelopeToText('x' as unknown as Uint8Array), 'PROTO_MALFORMED');
  });

  it('refuses oversize text from its length alone', () => {
    const maxChars = Math.ceil(DEFAULT_MAX_ENVELOPE_BYTES / 3) * 4;
    expectCode(() => envelopeFromText('!'.repeat(maxChars + 1)), 'PROTO_OVERSIZE');
    expectCode(() => envelopeFromText('A'.repeat(400), { maxBytes: 200 }), 'PROTO_OVERSIZE');
    const env = encodeEnvelope(IDENTITIES[0], { type: MessageType.APP, seq: 0, timestamp: 0, body: new Uint8Array(100) });
    expectCode(() => decodeEnvelopeText(envelopeToText(env), { maxBytes: env.length - 1 }), 'PROTO_OVERSIZE');
    expect(decodeEnvelopeText(envelopeToText(env), { maxBytes: env.length }).type).to.equal(MessageType.APP);
  });
});
