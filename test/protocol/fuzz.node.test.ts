/**
 * Fuzzing the decoders: no input whatsoever may produce anything but a KpcError,
 * and nothing but an unmodified valid envelope may decode.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { KpcError } from '../../src/errors.js';
import { MessageType, decodeEnvelope, decodeEnvelopeText, encodeEnvelope, envelopeToText } from '../../src/protocol/index.js';
import { identityArb, messageArb } from './arbitraries.js';
import { mutate, mutationArb } from '../helpers/mutate.js';

const KNOWN_TYPES = Object.values(MessageType);

/** Decodes, and insists on "valid and identical to `original`" or a KpcError. */
function decodeOrKpcError(input: unknown, original?: Uint8Array): void {
  let env;
  try {
    env = decodeEnvelope(input as Uint8Array);
  } catch (err) {
    expect(err).to.be.instanceOf(KpcError);
    return;
  }
  expect(original, 'an input that is not a signed envelope decoded').to.not.equal(undefined);
  expect(env.bytes).to.deep.equal(original);
}


describe('decodeEnvelope fuzzing', () => {
  it('arbitrary byte arrays → KpcError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => decodeOrKpcError(b)), { numRuns: 3000 });
  });

  it('arbitrary bytes behind a valid magic, version and type → KpcError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KNOWN_TYPES), fc.uint8Array({ maxLength: 400 }), (type, rest) => {
        const b = new Uint8Array(4 + rest.length);
        b.set([0x4b, 0x50, 1, type]);
        b.set(rest, 4);
        decodeOrKpcError(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary bytes with a consistent body length → KpcError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KNOWN_TYPES),
        fc.uint8Array({ minLength: 48, maxLength: 48 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (type, head, body, sig) => {
          const b = new Uint8Array(52 + body.length + 64);
          b.set([0x4b, 0x50, 1, type]);
          b.set(head.subarray(0, 44), 4);
          new DataView(b.buffer).setUint32(48, body.length);
          b.set(body, 52);
          b.set(sig, 52 + body.length);
          decodeOrKpcError(b);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mutations of valid envelopes → KpcError (or the unchanged envelope)', () => {
    fc.assert(
      fc.property(identityArb, messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (id, msg, edits) => {
        const bytes = encodeEnvelope(id, msg);
        decodeOrKpcError(mutate(bytes, edits), bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('truncations of valid envelopes → KpcError', () => {
    fc.assert(
      fc.property(identityArb, messageArb, fc.nat(), (id, msg, cut) => {
        const bytes = encodeEnvelope(id, msg);
        decodeOrKpcError(bytes.subarray(0, cut % bytes.length));
      }),
      { numRuns: 200 },
    );
  });

  it('non-byte inputs → KpcError', () => {
    fc.assert(fc.property(fc.anything(), (v) => decodeOrKpcError(v)));
    for (const v of [null, undefined, 'KP', 42, [0x4b, 0x50], new ArrayBuffer(200), new DataView(new ArrayBuffer(200)), new Uint16Array(100)]) {
      decodeOrKpcError(v);
    }
  });

  it('arbitrary text, and mutated envelope text → KpcError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.base64String({ maxLength: 400 })), (s) => {
        try {
          decodeEnvelopeText(s);
          expect.fail('decoded junk text');
        } catch (err) {
          expect(err).to.be.instanceOf(KpcError);
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(identityArb, messageArb, fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (id, msg, at, ch) => {
        const text = envelopeToText(encodeEnvelope(id, msg));
        const i = at % text.length;
        const mutated = text.slice(0, i) + ch + text.slice(i + 1);
        if (mutated === text) return;
        expect(() => decodeEnvelopeText(mutated)).to.throw(KpcError);
      }),
      { numRuns: 200 },
    );
  });
});
