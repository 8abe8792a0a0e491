/**
 * The consensus codec and threshold arithmetic: round trips, and every way a message
 * can be wrong is a KpcError.
 */
import { describe, it } from 'node:test';
import { expect } from 'chai';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  GENESIS_ID,
  MAX_MEMBERS,
  buildCertificate,
  decodeMessage,
  maxFaulty,
  quorumSize,
  scaledThreshold,
  signProposal,
  signVote,
  viewId,
  witnessesNeeded,
  type Proposal,
  type ProposalFields,
} from '../../src/consensus/index.js';
import { utf8Decode, utf8Encode } from '../../src/crypto/bytes.js';
import { T0, identity } from './harness.js';
import { codeOf } from '../helpers/errors.js';

const ids = [0, 1, 2, 3].map(identity);
const members = ids.map((i) => i.nodeId).sort();

function fields(over: Partial<ProposalFields> = {}): ProposalFields {
  return { slot: 0, parent: { slot: -1, id: GENESIS_ID }, kind: 'set', payload: { n: 1 }, members, created: T0, expires: T0 + 1000, ...over };
}

/** The KpcError code `fn` throws (fails the test if it throws anything else, or nothing). */

/** Re-encodes `bytes` after editing the parsed JSON (key order kept canonical by sorting). */
function edit(bytes: Uint8Array, f: (o: Record<string, unknown>) => void): Uint8Array {
  const o = JSON.parse(utf8Decode(bytes)) as Record<string, unknown>;
  f(o);
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as never)[k])])) : v;
  return utf8Encode(JSON.stringify(sorted(o)));
}

describe('consensus quorum arithmetic', () => {
  it('asks ceil(0.67 n) votes, computed exactly', () => {
    const table: Array<[number, number]> = [[1, 1], [2, 2], [3, 3], [4, 3], [5, 4], [6, 5], [7, 5], [10, 7], [100, 67], [96, 65]];
    for (const [n, q] of table) expect(quorumSize(n), `n=${n}`).to.equal(q);
    // 0.68 × 75 is 51.00000000000001 in doubles: a naive ceil would ask 52 where 51 is 68%.
    expect(Math.ceil(0.68 * 75)).to.equal(52);
    expect(quorumSize(75, 0.68)).to.equal(51);
  });

  it('two quorums always share more than f members, so f byzantine voters cannot commit two proposals', () => {
    for (let n = 1; n <= 96; n++) {
      const q = quorumSize(n);
      expect(2 * q - n, `n=${n}`).to.be.greaterThan(maxFaulty(n));
      expect(n + maxFaulty(n), `finalize/skip exclusion n=${n}`).to.be.lessThan(2 * q);
    }
  });

  it('accepts only thresholds in (2/3, 1]', () => {
    for (const t of [0.67, 0.7, 0.75, 1]) expect(() => scaledThreshold(t)).to.not.throw();
    for (const t of [0.5, 2 / 3, 0.6666, 1.01, 0, -1, NaN, Infinity]) expect(codeOf(() => scaledThreshold(t)), String(t)).to.equal('CONFIG_INVALID');
    expect(witnessesNeeded(4)).to.equal(2);
    expect(witnessesNeeded(3)).to.equal(1);
    expect(witnessesNeeded(0)).to.equal(1);
  });
});

describe('consensus messages', () => {
  it('round-trips a proposal and derives id and proposer', () => {
    const p = signProposal(ids[0], fields());
    const d = decodeMessage(p.bytes) as Proposal;
    expect(d).to.deep.include({ t: 'proposal', id: p.id, slot: 0, kind: 'set', proposer: ids[0].nodeId, created: T0 });
    expect(d.payload).to.deep.equal({ n: 1 });
    expect(d.id).to.match(/^[0-9a-f]{64}$/);
    expect(Object.isFrozen(d.payload), 'payload is frozen').to.equal(true);
    // Same content, same id: ids do not depend on anything outside the signed content.
    expect(signProposal(ids[0], fields()).id).to.equal(p.id);
    expect(signProposal(ids[0], fields({ payload: { n: 2 } })).id).to.not.equal(p.id);
  });

  it('refuses malformed proposals when signing and when decoding', () => {
    expect(codeOf(() => signProposal(ids[0], fields({ members: [...members].reverse() })))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => signProposal(ids[0], fields({ members: members.filter((m) => m !== ids[0].nodeId) })))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => signProposal(ids[0], fields({ parent: { slot: 0, id: GENESIS_ID } })))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => signProposal(ids[0], fields({ kind: 'no spaces' })))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => signProposal(ids[0], fields({ expires: T0 })))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => signProposal(ids[0], fields({ payload: 'x'.repeat(70_000) })))).to.equal('PROTO_OVERSIZE');
    const p = signProposal(ids[0], fields());
    expect(codeOf(() => decodeMessage(edit(p.bytes, (o) => (o.slot = 1))))).to.equal('PROTO_BAD_SIGNATURE');
    expect(codeOf(() => decodeMessage(edit(p.bytes, (o) => (o.extra = 1))))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => decodeMessage(edit(p.bytes, (o) => delete o.expires)))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => decodeMessage(edit(p.bytes, (o) => (o.v = 2))))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => decodeMessage(edit(p.bytes, (o) => (o.slot = 1.5))))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => decodeMessage(utf8Encode(' ' + utf8Decode(p.bytes))))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => decodeMessage(p.bytes, 100))).to.equal('PROTO_OVERSIZE');
    expect(codeOf(() => decodeMessage('{}' as unknown as Uint8Array))).to.equal('CONSENSUS_BAD_MESSAGE');
  });

  it('round-trips votes; a skip names no proposal', () => {
    const view = viewId(members);
    const v = signVote(ids[1], { phase: 'accept', slot: 3, target: 'ab'.repeat(32), view });
    expect(decodeMessage(v.bytes)).to.deep.include({ t: 'vote', phase: 'accept', slot: 3, voter: ids[1].nodeId, view });
    expect(codeOf(() => signVote(ids[1], { phase: 'skip', slot: 3, target: 'ab'.repeat(32), view }))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => signVote(ids[1], { phase: 'accept', slot: 3, target: '', view }))).to.equal('CONSENSUS_BAD_MESSAGE');
    expect(codeOf(() => decodeMessage(edit(v.bytes, (o) => (o.phase = 'final'))))).to.equal('PROTO_BAD_SIGNATURE');
    expect(codeOf(() => decodeMessage(edit(v.bytes, (o) => (o.phase = 'maybe'))))).to.equal('CONSENSUS_BAD_MESSAGE');
  });

  it('round-trips a certificate and checks its parts', () => {
    const parent = signProposal(ids[2], fields());
    const p = signProposal(ids[0], fields({ slot: 2, parent: { slot: 0, id: parent.id } }));
    const vote = (i: number, phase: 'accept' | 'final') => signVote(ids[i], { phase, slot: 2, target: p.id, view: viewId(members) });
    const cert = buildCertificate(p, [2, 0, 1].map((i) => vote(i, 'accept')), [0, 1, 2].map((i) => vote(i, 'final')), [parent])!;
    const d = decodeMessage(cert.bytes);
    expect(d.t).to.equal('cert');
    if (d.t !== 'cert') return;
    expect(d.proposal.id).to.equal(p.id);
    expect(d.accepts.map((v) => v.voter).sort()).to.deep.equal([0, 1, 2].map((i) => ids[i].nodeId).sort());
    expect(d.chain.map((a) => a.id)).to.deep.equal([parent.id]);
    // A vote from someone the proposal does not list.
    const outsider = identity(9);
    const foreign = signVote(outsider, { phase: 'accept', slot: 2, target: p.id, view: viewId(members) });
    expect(codeOf(() => decodeMessage(buildCertificate(p, [foreign], [], [])!.bytes))).to.equal('CONSENSUS_BAD_CERTIFICATE');
    // A chain that is not the proposal's ancestry.
    const stranger = signProposal(ids[3], fields({ payload: 9 }));
    expect(codeOf(() => decodeMessage(buildCertificate(p, [], [], [stranger])!.bytes))).to.equal('CONSENSUS_BAD_CERTIFICATE');
    // Votes out of canonical order.
    expect(codeOf(() => decodeMessage(edit(cert.bytes, (o) => (o.accepts as unknown[]).reverse())))).to.equal('CONSENSUS_BAD_CERTIFICATE');
    // A signature moved to another voter's key.
    expect(
      codeOf(() =>
        decodeMessage(
          edit(cert.bytes, (o) => {
            const a = o.accepts as Array<{ sig: string }>;
            [a[0].sig, a[1].sig] = [a[1].sig, a[0].sig];
          }),
        ),
      ),
    ).to.equal('PROTO_BAD_SIGNATURE');
  });

  it('a certificate for the largest member list fits in one message', () => {
    const many = Array.from({ length: MAX_MEMBERS }, (_, i) => identity(100 + i));
    const list = many.map((i) => i.nodeId).sort();
    const p = signProposal(many[0], fields({ members: list, payload: { spec: 'x'.repeat(1000) } }));
    const q = quorumSize(list.length);
    const vote = (i: number, phase: 'accept' | 'final') => signVote(many[i], { phase, slot: 0, target: p.id, view: viewId(list) });
    const cert = buildCertificate(p, many.slice(0, q).map((_, i) => vote(i, 'accept')), many.slice(0, q).map((_, i) => vote(i, 'final')), []);
    expect(cert, 'fits in DEFAULT_MAX_MESSAGE_BYTES').to.not.equal(undefined);
    expect(cert!.bytes.length).to.be.below(DEFAULT_MAX_MESSAGE_BYTES);
  });
});
