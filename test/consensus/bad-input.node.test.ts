/**
 * Untrusted input: forged, foreign, duplicated, premature and malformed messages are
 * refused with a KpcError (or held harmlessly), and nothing observable changes.
 */
import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { ConsensusEngine, GENESIS_ID, buildCertificate, signProposal, signVote, viewId, type Proposal, type VotePhase } from '../../src/consensus/index.js';
import { utf8Decode, utf8Encode } from '../../src/crypto/bytes.js';
import { KpcError } from '../../src/errors.js';
import { canonicalJsonBytes } from '../../src/protocol/canonical-json.js';
import { Register, T0, VirtualRuntime, identity } from './harness.js';

const ids = [0, 1, 2, 3, 4].map(identity);
/** Members 1–4; node 0 runs the engine under test as an observer, so it counts votes without casting any. */
const members = ids.slice(1).map((i) => i.nodeId).sort();
const outsider = identity(9);

function observer() {
  const rt = new VirtualRuntime();
  const sent: Uint8Array[] = [];
  const events: string[] = [];
  const register = new Register();
  const engine = new ConsensusEngine({ identity: ids[0], runtime: rt, timeoutMs: 1000, executors: { set: register.executor() }, members: () => members, send: (b) => sent.push(b) });
  for (const t of ['proposal', 'vote', 'commit', 'rollback', 'timeout', 'equivocation']) engine.addEventListener(t, () => events.push(t));
  const state = () => ({ decisions: engine.decisions.length, next: engine.nextSlot(), final: engine.finalizedSlot, sent: sent.length, events: events.length, value: register.value });
  return { rt, engine, sent, events, register, state };
}

function proposal(i: number, payload: number, slot = 0): Proposal {
  return signProposal(ids[i], { slot, parent: { slot: -1, id: GENESIS_ID }, kind: 'set', payload, members, created: T0, expires: T0 + 10_000 });
}

/** A vote by member `i` (or by `signer`, to forge one). */
function vote(i: number, phase: VotePhase, p: Proposal, signer = ids[i]) {
  return signVote(signer, { phase, slot: p.slot, target: p.id, view: viewId(p.members) });
}

/** Expects `fn` to throw a KpcError with `code` (any code if omitted). */
function expectKpcError(fn: () => unknown, code?: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error, 'expected a KpcError').to.be.instanceOf(KpcError);
  if (code) expect((error as KpcError).code).to.equal(code);
}

function editJson(bytes: Uint8Array, f: (o: Record<string, unknown>) => void): Uint8Array {
  const o = JSON.parse(utf8Decode(bytes)) as Record<string, unknown>;
  f(o);
  return canonicalJsonBytes(o);
}

describe('consensus bad input', () => {
  it('a forged vote (bad signature, or a key it was not signed with) is refused', () => {
    const { engine, state } = observer();
    const p = proposal(1, 5);
    engine.receive(p.bytes);
    const before = state();
    const v = vote(2, 'accept', p);
    const flipped = editJson(v.bytes, (o) => (o.sig = ((o.sig as string)[0] === 'a' ? 'b' : 'a') + (o.sig as string).slice(1)));
    expectKpcError(() => engine.receive(flipped), 'PROTO_BAD_SIGNATURE');
    const stolenKey = editJson(vote(3, 'accept', p).bytes, (o) => (o.key = JSON.parse(utf8Decode(v.bytes)).key));
    expectKpcError(() => engine.receive(stolenKey), 'PROTO_BAD_SIGNATURE');
    expect(state()).to.deep.equal(before);
  });

  it('votes and proposals from non-members are refused', () => {
    const { engine, state } = observer();
    const p = proposal(1, 5);
    engine.receive(p.bytes);
    const before = state();
    expectKpcError(() => engine.receive(vote(9, 'accept', p, outsider).bytes), 'CONSENSUS_NOT_MEMBER');
    const unknown = proposal(2, 6);
    expectKpcError(() => engine.receive(vote(9, 'accept', unknown, outsider).bytes), 'CONSENSUS_NOT_MEMBER');
    const skip = signVote(outsider, { phase: 'skip', slot: 0, target: '', view: viewId(members) });
    expectKpcError(() => engine.receive(skip.bytes), 'CONSENSUS_NOT_MEMBER');
    const foreign = signProposal(outsider, { slot: 0, parent: { slot: -1, id: GENESIS_ID }, kind: 'set', payload: 1, members: [outsider.nodeId], created: T0, expires: T0 + 10_000 });
    expectKpcError(() => engine.receive(foreign.bytes), 'CONSENSUS_NOT_MEMBER');
    expect(state()).to.deep.equal(before);
  });

  it('duplicate votes from one voter count once', async () => {
    const { rt, engine, state } = observer();
    const p = proposal(1, 5);
    engine.receive(p.bytes);
    for (const phase of ['accept', 'final'] as const) {
      expect(engine.receive(vote(1, phase, p).bytes)).to.equal('applied');
      const dup = vote(2, phase, p);
      expect(engine.receive(dup.bytes)).to.equal('applied');
      const before = state();
      for (let k = 0; k < 3; k++) expect(engine.receive(dup.bytes)).to.equal('duplicate');
      expect(state()).to.deep.equal(before);
    }
    await rt.advance(1);
    expect(engine.decisions, 'two distinct voters of four are no quorum').to.have.length(0);
    engine.receive(vote(3, 'accept', p).bytes);
    engine.receive(vote(3, 'final', p).bytes);
    await rt.advance(1);
    expect(engine.decisions.map((d) => d.payload)).to.deep.equal([5]);
  });

  it('a vote for an unknown proposal is held without effect, and counted once the proposal arrives', async () => {
    const { rt, engine, state } = observer();
    const p = proposal(1, 5);
    const before = state();
    for (const i of [1, 2, 3]) expect(engine.receive(vote(i, 'accept', p).bytes)).to.equal('buffered');
    for (const i of [1, 2, 3]) expect(engine.receive(vote(i, 'final', p).bytes)).to.equal('buffered');
    await rt.advance(5000);
    expect(state(), 'nothing sent, no event, no decision').to.deep.equal(before);
    expect(engine.receive(p.bytes)).to.equal('applied');
    await rt.advance(1);
    expect(engine.decisions.map((d) => d.payload)).to.deep.equal([5]);
  });

  it('a certificate with too few votes is refused; a full one commits', async () => {
    const { rt, engine, state } = observer();
    const p = proposal(1, 5);
    const short = buildCertificate(p, [1, 2].map((i) => vote(i, 'accept', p)), [1, 2].map((i) => vote(i, 'final', p)), [])!;
    expectKpcError(() => engine.receive(short.bytes), 'CONSENSUS_BAD_CERTIFICATE');
    const noFinals = buildCertificate(p, [1, 2, 3].map((i) => vote(i, 'accept', p)), [], [])!;
    expectKpcError(() => engine.receive(noFinals.bytes), 'CONSENSUS_BAD_CERTIFICATE');
    expect(state()).to.deep.equal(observer().state());
    const full = buildCertificate(p, [1, 2, 3].map((i) => vote(i, 'accept', p)), [2, 3, 4].map((i) => vote(i, 'final', p)), [])!;
    expect(engine.receive(full.bytes)).to.equal('applied');
    await rt.advance(1);
    expect(engine.decisions.map((d) => d.payload)).to.deep.equal([5]);
    // A certificate for another proposal in the same, now decided, slot is a fork.
    const q = proposal(2, 6);
    const rival = buildCertificate(q, [1, 2, 3].map((i) => vote(i, 'accept', q)), [1, 2, 3].map((i) => vote(i, 'final', q)), [])!;
    expectKpcError(() => engine.receive(rival.bytes), 'CONSENSUS_FORK');
  });

  it('an equivocating voter is reported with both signed votes', () => {
    const { engine } = observer();
    const [a, b] = [proposal(1, 5), proposal(2, 6)];
    engine.receive(a.bytes);
    engine.receive(b.bytes);
    const seen: Array<{ author: string; evidence: readonly Uint8Array[] }> = [];
    engine.addEventListener('equivocation', (e) => seen.push(e.detail));
    const [va, vb] = [vote(3, 'accept', a), vote(3, 'accept', b)];
    engine.receive(va.bytes);
    engine.receive(vb.bytes);
    expect(seen).to.have.length(1);
    expect(seen[0].author).to.equal(ids[3].nodeId);
    expect(seen[0].evidence).to.deep.equal([va.bytes, vb.bytes]);
  });
});

describe('consensus bad input: fuzzing', () => {
  const shared = observer();
  const p = proposal(1, 5);
  shared.engine.receive(p.bytes);
  const q = proposal(2, 7, 1);
  const samples = [
    q.bytes,
    vote(3, 'accept', p).bytes,
    signVote(ids[4], { phase: 'skip', slot: 0, target: '', view: viewId(members) }).bytes,
    buildCertificate(p, [1, 2, 3].map((i) => vote(i, 'accept', p)), [1, 2, 3].map((i) => vote(i, 'final', p)), [])!.bytes,
  ];

  /** Feeds `input` to the shared engine: a KpcError and no change, unless it is byte-identical to a valid sample. */
  function feed(input: unknown): void {
    if (input instanceof Uint8Array && samples.some((s) => s.length === input.length && s.every((b, i) => b === input[i]))) return;
    const before = shared.state();
    expectKpcError(() => shared.engine.receive(input as Uint8Array));
    expect(shared.state()).to.deep.equal(before);
  }

  it('random bytes, text and JSON are refused', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => feed(b)), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 256 }), (s) => feed(utf8Encode(s))), { numRuns: 200 });
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => feed(canonicalJsonBytes(v))), { numRuns: 200 });
    for (const v of [undefined, null, 'x', 42, [1, 2], { t: 'vote' }, new Uint8Array(70_000)]) feed(v);
  });

  it('byte-level mutations of valid messages are refused', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (k, edits) => {
        const a = Array.from(samples[k]);
        for (const e of edits) {
          const at = e.at % Math.max(1, a.length);
          if (e.kind === 'set') a[at] = e.value;
          else if (e.kind === 'insert') a.splice(at, 0, e.value);
          else if (e.kind === 'delete') a.splice(at, 1);
          else a.length = at;
        }
        feed(new Uint8Array(a));
      }),
      { numRuns: 300 },
    );
  });

  it('field-level mutations of valid messages are refused', () => {
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.nat(), fc.jsonValue({ maxDepth: 2 }), (k, pick, value) => {
        const o = JSON.parse(utf8Decode(samples[k])) as Record<string, unknown>;
        const keys = Object.keys(o);
        o[keys[pick % keys.length]] = value;
        feed(canonicalJsonBytes(o));
      }),
      { numRuns: 300 },
    );
  });
});
