/**
 * Fuzz target of consensus: `ConsensusEngine.receive` (and `adopt`) of a member
 * engine, fed mutated proposals, votes and certificates, including ones re-signed
 * by a member key (a byzantine member). Stateful: a rejection must change nothing.
 */
import { concatBytes, equalBytes, toHex, utf8Decode, utf8Encode } from '../../src/crypto/bytes.js';
import { sign, type Identity } from '../../src/crypto/identity.js';
import {
  ConsensusEngine,
  GENESIS_ID,
  buildCertificate,
  signProposal,
  signVote,
  viewId,
  type Executor,
  type Proposal,
  type VotePhase,
} from '../../src/consensus/index.js';
import { KpcError } from '../../src/errors.js';
import { canonicalJsonBytes } from '../../src/protocol/index.js';
import { VirtualRuntime } from '../helpers/virtual-runtime.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { FuzzViolation, LastInput, check, typed, type CaseOutcome, type FuzzTarget, type TargetInstance } from './engine.js';
import { deepJsonText, mutateBytes, mutateJson, randomJson, type Json } from './mutate.js';
import { Rng, fixedIdentity } from './prng.js';
import { NOW } from './targets-protocol.js';

const CODES = ['PROTO_OVERSIZE', 'CONSENSUS_BAD_MESSAGE', 'PROTO_BAD_SIGNATURE', 'CONSENSUS_BAD_CERTIFICATE', 'CONSENSUS_NOT_MEMBER', 'CONSENSUS_FORK'] as const;
const DOMAINS: Record<string, Uint8Array> = {
  proposal: utf8Encode('kpc/consensus/v1/proposal\n'),
  vote: utf8Encode('kpc/consensus/v1/vote\n'),
};

/** Virtual time at {@link NOW}, `random()` from a fixed seed. */
function manualRuntime(): VirtualRuntime {
  const rng = new Rng(1);
  return new VirtualRuntime(NOW, () => rng.float());
}

/** The decided value; payloads must be integers. */
class Register {
  value = 0;
  executor(): Executor<number> {
    return {
      validate: (p) => {
        if (typeof p !== 'number' || !Number.isInteger(p)) throw new KpcError('CONSENSUS_REJECTED', 'payload must be an integer');
        return p;
      },
      snapshot: () => this.value,
      execute: (p) => {
        if (p === 13) throw new Error('unlucky'); // exercises rollback
        this.value = p;
      },
      restore: (s) => {
        this.value = s as number;
      },
    };
  }
}

interface Session {
  engine: ConsensusEngine;
  rt: VirtualRuntime;
  register: Register;
  sent: number;
  events: number;
}

function snapshot(s: Session): string {
  const e = s.engine;
  return JSON.stringify({
    decisions: e.decisions.map((d) => [d.slot, d.id, d.status]),
    next: e.nextSlot(),
    final: e.finalizedSlot,
    certs: e.certificates(0).map((c) => toHex(sha256(c))),
    sent: s.sent,
    events: s.events,
    timers: s.rt.pending,
    value: s.register.value,
  });
}

const ids: readonly Identity[] = [20, 21, 22, 23, 24].map(fixedIdentity);
const outsider = fixedIdentity(29);
const members = ids.slice(1).map((i) => i.nodeId).sort();
const byKey = new Map([...ids, outsider].map((i) => [toHex(i.publicKey), i]));

/** Re-signs a proposal or vote object after an edit, as the member whose key it names (or another). */
function resign(rng: Rng, o: Record<string, Json>): Uint8Array {
  const t = typeof o.t === 'string' && DOMAINS[o.t] ? o.t : rng.pick(['proposal', 'vote']);
  let signer = typeof o.key === 'string' ? byKey.get(o.key) : undefined;
  if (!signer || rng.chance(0.1)) {
    signer = rng.pick([...ids.slice(1), outsider]);
    o.key = toHex(signer.publicKey);
  }
  const { sig: _sig, ...content } = o;
  void _sig;
  const signed = canonicalJsonBytes(content as Json);
  return canonicalJsonBytes({ ...content, sig: toHex(sign(signer, concatBytes(DOMAINS[t], signed))) } as Json);
}

type CertJson = { t: 'cert'; proposal: Json; accepts: Json[]; finals: Json[]; chain: Json[] };
const canon = (v: unknown): string => utf8Decode(canonicalJsonBytes(v as Json));

function asCert(bytes: unknown): CertJson | null {
  if (!(bytes instanceof Uint8Array)) return null;
  try {
    const o = JSON.parse(utf8Decode(bytes)) as CertJson;
    return o && o.t === 'cert' && Array.isArray(o.accepts) && Array.isArray(o.finals) && Array.isArray(o.chain) ? o : null;
  } catch {
    return null;
  }
}

/**
 * Whether `input` is one of the pool's certificates with some parts left out: a
 * certificate is a bag of signed parts, so dropping ones it does not need (a vote beyond
 * the quorum, a chain proposal the receiver already holds) gives another valid
 * certificate, not a forgery. Mixing parts of different certificates is not covered.
 */
function subCertificate(input: unknown, certs: readonly CertJson[]): boolean {
  const c = asCert(input);
  if (!c) return false;
  const within = (xs: Json[], of: Json[]) => {
    const pool = new Set(of.map(canon));
    return xs.every((x) => pool.has(canon(x)));
  };
  return certs.some((o) => canon(o.proposal) === canon(c.proposal) && within(c.accepts, o.accepts) && within(c.finals, o.finals) && within(c.chain, o.chain));
}

function buildPool(): { bytes: Uint8Array; t: string }[] {
  const created = NOW;
  const prop = (i: number, slot: number, payload: number, parent = { slot: -1, id: GENESIS_ID }, extra: Partial<{ members: string[]; created: number; expires: number }> = {}): Proposal =>
    signProposal(ids[i], { slot, parent, kind: 'set', payload, members: extra.members ?? members, created: extra.created ?? created, expires: extra.expires ?? created + 10_000 });
  const vote = (i: number, phase: VotePhase, p: Proposal) => signVote(ids[i], { phase, slot: p.slot, target: p.id, view: viewId(p.members) });
  const skip = (i: number, slot: number) => signVote(ids[i], { phase: 'skip', slot, target: '', view: viewId(members) });
  const p0 = prop(2, 0, 5);
  const p0b = prop(3, 0, 6);
  const p1 = prop(2, 1, 7, { slot: 0, id: p0.id });
  const p1s = prop(4, 1, 13, { slot: -1, id: GENESIS_ID });
  const far = prop(3, 70, 8);
  const expired = prop(4, 0, 9, undefined, { created: NOW - 20_000, expires: NOW - 10_000 });
  // A member list the engine does not share (one member left out, never the proposer).
  const partial = prop(2, 0, 10, undefined, { members: members.filter((m) => m !== ids[4].nodeId) });
  const foreign = signProposal(outsider, { slot: 0, parent: { slot: -1, id: GENESIS_ID }, kind: 'set', payload: 1, members: [outsider.nodeId], created, expires: created + 10_000 });
  const out: { bytes: Uint8Array; t: string }[] = [];
  const push = (bytes: Uint8Array | undefined, t: string) => bytes && out.push({ bytes, t });
  for (const p of [p0, p0b, p1, p1s, far, expired, partial, foreign]) push(p.bytes, 'proposal');
  for (const p of [p0, p0b, p1]) {
    for (const i of [2, 3, 4]) for (const phase of ['accept', 'final'] as const) push(vote(i, phase, p).bytes, 'vote');
    push(vote(3, 'reject', p).bytes, 'vote');
  }
  for (const i of [2, 3, 4]) for (const slot of [0, 1]) push(skip(i, slot).bytes, 'vote');
  push(signVote(outsider, { phase: 'accept', slot: 0, target: p0.id, view: viewId(members) }).bytes, 'vote');
  const q = (p: Proposal, acc: number[], fin: number[], chain: Proposal[] = []) =>
    buildCertificate(p, acc.map((i) => vote(i, 'accept', p)), fin.map((i) => vote(i, 'final', p)), chain)?.bytes;
  push(q(p0, [2, 3, 4], [2, 3, 4]), 'cert');
  push(q(p1, [2, 3, 4], [2, 3, 4], [p0]), 'cert');
  push(q(p0b, [2, 3, 4], [2, 3, 4]), 'cert');
  push(q(p0, [2, 3], [2, 3]), 'cert');
  push(q(p1s, [2, 3, 4], [2, 3, 4]), 'cert');
  return out;
}

const consensus: FuzzTarget = {
  name: 'consensus',
  decoder: 'ConsensusEngine.receive / adopt → decodeMessage (src/consensus/engine.ts, messages.ts)',
  codes: CODES,
  sessionLength: 30,
  testCases: 900,
  async prepare(): Promise<TargetInstance<Session>> {
    const pool = buildPool();
    const valid = new Set(pool.map((p) => toHex(p.bytes)));
    const certs = pool.map((p) => asCert(p.bytes)).filter((c): c is CertJson => c !== null);
    const others = pool.map((p) => p.bytes);
    // Sanity: re-signing an unedited proposal must reproduce it, or the re-signed cases test nothing.
    const first = pool[0].bytes;
    if (!equalBytes(resign(new Rng(0), JSON.parse(utf8Decode(first)) as Record<string, Json>), first)) {
      throw new Error('fuzz harness: re-signing does not reproduce a proposal (signing domain changed?)');
    }
    const last = new LastInput();
    return {
      last,
      newSession(): Session {
        const rt = manualRuntime();
        const register = new Register();
        const s = { rt, register, sent: 0, events: 0 } as Session;
        s.engine = new ConsensusEngine({
          identity: ids[1], runtime: rt, timeoutMs: 1000, executors: { set: register.executor() }, members: () => members, send: () => void s.sent++,
        });
        for (const t of ['proposal', 'vote', 'commit', 'rollback', 'timeout', 'equivocation']) s.engine.addEventListener(t, () => s.events++);
        return s;
      },
      closeSession(s) {
        s.engine.close();
      },
      async runCase(rng, s): Promise<CaseOutcome> {
        // Let executions of earlier cases finish, and sometimes let time pass (slot timers).
        await Promise.resolve();
        if (rng.chance(0.2)) s.rt.advanceSync(rng.range(1, 1500));
        const item = rng.pick(pool);
        const kind = rng.weighted([[15, 'valid'], [37, 'bytes'], [25, 'resigned'], [8, 'json'], [8, 'junk'], [4, 'adopt'], [3, 'non-bytes']] as const);
        let input: unknown = item.bytes;
        let label: string = kind;
        let authentic = false; // signed by a key we hold: any accepted outcome is legitimate
        switch (kind) {
          case 'valid':
            authentic = true;
            break;
          case 'bytes': {
            const m = mutateBytes(rng, item.bytes, { others });
            [input, label] = [m.value, m.label];
            break;
          }
          case 'resigned': {
            const o = JSON.parse(utf8Decode(item.bytes)) as Record<string, Json>;
            if (item.t === 'cert') {
              const m = mutateJson(rng, o.proposal);
              try {
                o.proposal = JSON.parse(utf8Decode(resign(rng, m.value as Record<string, Json>))) as Json;
                [input, label] = [canonicalJsonBytes(o as Json), `resigned:cert.proposal:${m.label}`];
              } catch {
                o.proposal = m.value;
                [input, label] = [utf8Encode(JSON.stringify(o)), `unsignable:cert.proposal:${m.label}`];
              }
            } else {
              const m = mutateJson(rng, o);
              try {
                [input, label] = [resign(rng, m.value as Record<string, Json>), `resigned:${m.label}`];
              } catch {
                [input, label] = [utf8Encode(JSON.stringify(m.value)), `unsignable:${m.label}`];
              }
            }
            // A re-signed certificate proposal is authentic, but its votes are for the original: never acceptable.
            authentic = item.t !== 'cert';
            break;
          }
          case 'json': {
            const m = mutateJson(rng, JSON.parse(utf8Decode(item.bytes)) as Json);
            try {
              input = canonicalJsonBytes(m.value);
            } catch {
              input = utf8Encode(JSON.stringify(m.value));
            }
            label = m.label;
            break;
          }
          case 'junk':
            input = rng.pick<() => Uint8Array>([
              () => rng.bytes(rng.size(400)),
              () => canonicalJsonBytes(randomJson(rng, 3)),
              () => utf8Encode(deepJsonText(rng, rng.pick([40, 5000, 60_000]))),
              () => concatBytes(item.bytes, new Uint8Array(61 * 1024)),
            ])();
            break;
          case 'adopt':
            if (rng.chance(0.6)) input = mutateBytes(rng, item.bytes, { others }).value;
            else authentic = true;
            break;
          case 'non-bytes':
            input = rng.pick([undefined, null, 'x', 42, {}, [1, 2], new ArrayBuffer(10)]);
            break;
        }
        last.set(label, input);
        const before = snapshot(s);
        const r = typed(CODES, () => (kind === 'adopt' ? s.engine.adopt(input as Uint8Array) : s.engine.receive(input as Uint8Array)));
        if (!r.ok) {
          check(snapshot(s) === before, `state changed by a rejected message (${r.code})`);
          return { outcome: r.code, mutation: label };
        }
        const known = input instanceof Uint8Array && valid.has(toHex(input));
        if (!authentic && !known && !subCertificate(input, certs)) {
          // Forged bytes: nothing may be applied or buffered, and a duplicate/ignored verdict must change nothing.
          if (r.value === 'applied' || r.value === 'buffered') throw new FuzzViolation(`FORGERY: a modified message was ${r.value}`);
          check(snapshot(s) === before, `state changed by a forged message (${r.value})`);
        }
        return { outcome: `ok:${r.value}`, mutation: label };
      },
    };
  },
};

export const CONSENSUS_TARGETS: readonly FuzzTarget[] = [consensus];
