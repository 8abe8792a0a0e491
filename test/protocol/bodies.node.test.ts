import { expect } from 'chai';
import { describe, it } from 'node:test';
import { utf8Encode } from '../../src/crypto/bytes.js';
import { NODE_STATES } from '../../src/state/machine.js';
import {
  MAX_SIGNAL_BYTES,
  MessageType,
  PROTOCOL_STATES,
  decodeBody,
  encodeBody,
  isMessageType,
  messageTypeName,
  validateAnnounce,
  validateGoodbye,
  validateHeartbeat,
  validateHeartbeatAck,
  validateHello,
  validateSignal,
} from '../../src/protocol/index.js';
import { expectCode } from './arbitraries.js';

const ID = 'a'.repeat(32);
const ID2 = '0123456789abcdef0123456789abcdef';

describe('message type registry', () => {
  it('has unique codes, names round-trip, and 0x00 is never valid', () => {
    const codes = Object.values(MessageType);
    expect(new Set(codes).size).to.equal(codes.length);
    for (const [name, code] of Object.entries(MessageType)) expect(messageTypeName(code)).to.equal(name);
    expect(isMessageType(0)).to.equal(false);
    expect(isMessageType(0x2f)).to.equal(false);
    expect(isMessageType('1')).to.equal(false);
    expect(messageTypeName(0xee)).to.equal(undefined);
  });

  it('state names on the wire are exactly the state machine states', () => {
    expect([...PROTOCOL_STATES]).to.deep.equal([...NODE_STATES]);
  });
});

describe('body validators', () => {
  it('accept valid bodies and drop nothing', () => {
    expect(validateAnnounce({ clusterId: 'c', state: 'READY' })).to.deep.equal({ clusterId: 'c', state: 'READY' });
    expect(validateAnnounce({ clusterId: 'c', state: 'READY', peers: undefined })).to.deep.equal({ clusterId: 'c', state: 'READY' });
    expect(validateAnnounce({ clusterId: 'c', state: 'OFFLINE', peers: [ID, ID2] }).peers).to.deep.equal([ID, ID2]);
    expect(validateSignal({ to: ID, signal: { type: 'offer', sdp: 'v=0' } }).to).to.equal(ID);
    expect(validateHello({ clusterId: 'x'.repeat(128), state: 'BOOTSTRAP' }).clusterId).to.have.length(128);
    expect(validateHeartbeat({ nonce: 0, state: 'SYNCING', peers: [] }).nonce).to.equal(0);
    expect(validateHeartbeatAck({ nonce: Number.MAX_SAFE_INTEGER }).nonce).to.equal(Number.MAX_SAFE_INTEGER);
    expect(validateGoodbye({ reason: '' }).reason).to.equal('');
  });

  it('reject bad shapes, types, lengths, states and node ids', () => {
    const peers65 = Array.from({ length: 65 }, (_, i) => i.toString(16).padStart(32, '0'));
    const cases: Array<[(v: unknown) => unknown, unknown]> = [
      [validateAnnounce, null],
      [validateAnnounce, []],
      [validateAnnounce, 'x'],
      [validateAnnounce, { clusterId: 'c' }],
      [validateAnnounce, { clusterId: '', state: 'READY' }],
      [validateAnnounce, { clusterId: 'x'.repeat(129), state: 'READY' }],
      [validateAnnounce, { clusterId: 1, state: 'READY' }],
      [validateAnnounce, { clusterId: 'c', state: 'ready' }],
      [validateAnnounce, { clusterId: 'c', state: 'UNKNOWN' }],
      [validateAnnounce, { clusterId: 'c', state: 'READY', extra: 1 }],
      [validateAnnounce, { clusterId: 'c', state: 'READY', peers: 'abc' }],
      [validateAnnounce, { clusterId: 'c', state: 'READY', peers: [ID.toUpperCase()] }],
      [validateAnnounce, { clusterId: 'c', state: 'READY', peers: [ID.slice(1)] }],
      [validateAnnounce, { clusterId: 'c', state: 'READY', peers: [ID, ID] }],
      [validateAnnounce, { clusterId: 'c', state: 'READY', peers: peers65 }],
      [validateAnnounce, { clusterId: 'c', state: 'READY', peers: null }],
      [validateSignal, { to: ID }],
      [validateSignal, { to: 'nope', signal: {} }],
      [validateSignal, { to: ID, signal: null }],
      [validateSignal, { to: ID, signal: [] }],
      [validateSignal, { to: ID, signal: 'sdp' }],
      [validateSignal, { to: ID, signal: { sdp: 'x'.repeat(MAX_SIGNAL_BYTES) } }],
      [validateSignal, { to: ID, signal: { bad: NaN } }],
      [validateSignal, { to: ID, signal: {}, from: ID }],
      [validateHello, { clusterId: 'c', state: 'READY', peers: [] }],
      [validateHello, { state: 'READY' }],
      [validateHeartbeat, { nonce: 1, state: 'READY' }],
      [validateHeartbeat, { nonce: -1, state: 'READY', peers: [] }],
      [validateHeartbeat, { nonce: 1.5, state: 'READY', peers: [] }],
      [validateHeartbeat, { nonce: '1', state: 'READY', peers: [] }],
      [validateHeartbeat, { nonce: 2 ** 53, state: 'READY', peers: [] }],
      [validateHeartbeat, { nonce: 1, state: 'READY', peers: peers65 }],
      [validateHeartbeatAck, {}],
      [validateHeartbeatAck, { nonce: NaN }],
      [validateGoodbye, { reason: 'x'.repeat(257) }],
      [validateGoodbye, { reason: null }],
      [validateGoodbye, {}],
    ];
    for (const [validate, body] of cases) expectCode(() => validate(body), 'PROTO_BAD_BODY');
  });

  it('a signal exactly at the size limit is accepted', () => {
    const overhead = '{"sdp":""}'.length;
    expect(() => validateSignal({ to: ID, signal: { sdp: 'x'.repeat(MAX_SIGNAL_BYTES - overhead) } })).to.not.throw();
  });

  it('returns fresh objects: a parsed __proto__ key never reaches the caller', () => {
    const parsed = JSON.parse('{"clusterId":"c","state":"READY","__proto__":{"polluted":true}}');
    expectCode(() => validateHello(parsed), 'PROTO_BAD_BODY');
    const ok = validateHello(JSON.parse('{"clusterId":"c","state":"READY"}'));
    expect(Object.getPrototypeOf(ok)).to.equal(Object.prototype);
  });
});

describe('body codecs', () => {
  it('encode canonically, decode strictly', () => {
    const bytes = encodeBody(MessageType.HEARTBEAT, { state: 'READY', peers: [ID2, ID], nonce: 7 });
    expect(new TextDecoder().decode(bytes)).to.equal(`{"nonce":7,"peers":["${ID2}","${ID}"],"state":"READY"}`);
    expect(decodeBody(MessageType.HEARTBEAT, bytes)).to.deep.equal({ nonce: 7, state: 'READY', peers: [ID2, ID] });
    expectCode(() => decodeBody(MessageType.HEARTBEAT_ACK, utf8Encode('{"nonce": 7}')), 'PROTO_BAD_BODY');
    expectCode(() => decodeBody(MessageType.HEARTBEAT_ACK, utf8Encode('{"nonce":7,"x":1}')), 'PROTO_BAD_BODY');
    expectCode(() => encodeBody(MessageType.GOODBYE, { reason: 5 } as never), 'PROTO_BAD_BODY');
    expectCode(() => encodeBody(MessageType.APP, 'text' as never), 'PROTO_BAD_BODY');
  });

  it('APP bodies are raw bytes, copied on decode', () => {
    const raw = new Uint8Array([0, 255, 7]);
    expect(encodeBody(MessageType.APP, raw)).to.deep.equal(raw);
    const decoded = decodeBody(MessageType.APP, raw);
    raw[0] = 9;
    expect(decoded[0]).to.equal(0);
  });
});
