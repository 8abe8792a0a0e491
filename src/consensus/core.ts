/**
 * The protocol state machine of one node: what it records, when it votes, when a
 * slot is notarized, skipped or finalized (docs/consensus.md, "Protocol").
 *
 * Internal to the concern: {@link ConsensusEngine} owns one and adds the public API,
 * own proposals, execution and event dispatch. Everything here is synchronous and
 * reaches the outside only through the {@link CoreHost} callbacks.
 */
import type { Identity } from '../crypto/identity.js';
import { KpcError } from '../errors.js';
import type { Runtime, TimerHandle } from '../runtime.js';
import { GENESIS_ID, buildCertificate, signVote, type Certificate, type ParentRef, type Proposal, type Vote, type VotePhase } from './messages.js';
import { hasQuorum, quorumSize } from './quorum.js';
import { SlotState, chainReady, chainTo, proposalView, tip, voteKey } from './slot.js';
import { failureOf, type OwnRecord } from './support.js';
import type { ConsensusEventMap, ReceiveResult, VoteJournal } from './types.js';
import { Views, type View } from './views.js';

/** Slots past the last finalized one that a node tracks; messages for later ones are ignored (bounds memory). */
export const MAX_SLOTS_AHEAD = 64;
/** Timer rounds per slot: the first votes skip, every round re-sends own messages. */
const MAX_ROUNDS = 5;
const RECENT_SLOTS = 256;
const MAX_PENDING_CERTS = 16;
const MAX_PARKED_PER_VOTER = 4;

/** What a {@link Core} needs from its engine. */
export interface CoreHost {
  readonly identity: Identity;
  readonly runtime: Runtime;
  readonly threshold: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly journal?: VoteJournal;
  /** Own votes from before a restart, by slot. */
  readonly prior: Map<number, OwnRecord>;
  members(): readonly string[];
  /** Whether this node's executor accepts `p`'s payload (false for an unknown kind). */
  valid(p: Proposal): boolean;
  /** A timer whose callback runs inside the engine's effect scope. */
  later(fn: () => void, ms: number): TimerHandle;
  /** Floods bytes (own messages and relays). */
  broadcast(bytes: Uint8Array): void;
  emit<K extends keyof ConsensusEventMap>(type: K, detail: ConsensusEventMap[K]['detail']): void;
  /** Newly finalized blocks, oldest first: to execute. */
  committed(chain: readonly Proposal[]): void;
}

/** Protocol state of one node. */
export class Core {
  /** The last finalized block (genesis at first). Everything at or below its slot is decided. */
  final: ParentRef = { slot: -1, id: GENESIS_ID };
  readonly slots = new Map<number, SlotState>();
  /** Decided slots: the committed proposal id (null: skipped) and, for chain tips, a certificate. */
  readonly recent = new Map<number, { id: string | null; cert?: Uint8Array }>();
  /** Member lists seen, by view id, so skip votes (which name only the id) can be counted. */
  readonly #views: Views;
  readonly #pendingCerts = new Map<number, Certificate>();
  #closed = false;

  constructor(readonly host: CoreHost) {
    this.#views = new Views(host.members);
  }

  /** This node's id. */
  get nodeId(): string {
    return this.host.identity.nodeId;
  }

  // ── messages ────────────────────────────────────────────────────────────────

  /** A proposal from a peer, or this node's own (`own`: sent, not received). */
  onProposal(p: Proposal, own: boolean): ReceiveResult {
    if (p.slot <= this.final.slot) return this.recent.get(p.slot)?.id === p.id ? 'duplicate' : 'ignored';
    if (p.slot > this.final.slot + MAX_SLOTS_AHEAD) return 'ignored';
    const known = this.slots.get(p.slot);
    if (known?.proposals.has(p.id)) return 'duplicate';
    if (!own && !this.view().set.has(p.proposer)) throw notMember(p.proposer, 'proposer');
    const st = known ?? this.#slot(p.slot);
    const prev = st.byProposer.get(p.proposer);
    if (prev) {
      this.#equivocation(st, p.proposer, prev.bytes, p.bytes);
      return 'ignored';
    }
    st.proposals.set(p.id, p);
    st.byProposer.set(p.proposer, p);
    // A rival arrived where this node already voted: its proposer may have missed those votes (say, across a
    // healed partition), and it needs them to see the slot is taken. Duplicates cost receivers one hash.
    if (!own) for (const b of st.mine.sent) this.host.broadcast(b);
    const view = proposalView(p);
    this.#views.learn(view, p.members);
    this.host.broadcast(p.bytes);
    const { id, slot, kind, payload, proposer, members } = p;
    this.host.emit('proposal', { id, slot, kind, payload, proposer, members });
    this.#activity(st);
    for (const v of st.unpark(p.id, view)) {
      const listed = p.members.includes(v.voter);
      if (listed && (v.phase === 'skip' || v.phase === 'reject' || v.view === view)) this.#count(v, st);
      else st.forget(v);
    }
    this.evaluate(p.slot);
    return 'applied';
  }

  /** A vote from a peer. @throws KpcError for a non-member voter or a vote naming the wrong member list. */
  onVote(v: Vote): ReceiveResult {
    if (v.slot <= this.final.slot || v.slot > this.final.slot + MAX_SLOTS_AHEAD) return 'ignored';
    const known = this.slots.get(v.slot);
    if (known?.seen.has(voteKey(v))) return 'duplicate';
    const view = this.view();
    let park: boolean;
    if (v.phase === 'skip') {
      const list = this.#views.get(v.view);
      if (list ? !list.includes(v.voter) : !view.set.has(v.voter)) throw notMember(v.voter, 'voter');
      park = !list;
    } else {
      const p = known?.proposals.get(v.target);
      if (p && !p.members.includes(v.voter)) throw notMember(v.voter, 'voter');
      if (p && v.phase !== 'reject' && v.view !== proposalView(p)) {
        throw new KpcError('CONSENSUS_BAD_MESSAGE', 'vote names another member list than its proposal', { voter: v.voter });
      }
      // A vote may overtake its proposal in a flooded mesh: hold it, but only from a member.
      if (!p && !view.set.has(v.voter)) throw notMember(v.voter, 'voter');
      park = !p;
    }
    const st = known ?? this.#slot(v.slot);
    if (park) {
      if (st.parkedBy(v.voter) >= MAX_PARKED_PER_VOTER) return 'ignored';
      const clash = st.park(v);
      if (clash) this.#equivocation(st, v.voter, clash.bytes, v.bytes);
      return 'buffered';
    }
    this.#count(v, st);
    if (v.phase === 'skip') this.#activity(st); // others gave up on a slot whose proposal may not have reached us
    this.evaluate(v.slot);
    return 'applied';
  }

  /** A finalization certificate. @throws KpcError for a missing quorum, or a fork of the finalized log. */
  onCert(c: Certificate): ReceiveResult {
    const p = c.proposal;
    if (p.slot <= this.final.slot) {
      const r = this.recent.get(p.slot);
      if (!r) return 'ignored';
      if (r.id === p.id) return 'duplicate';
      throw new KpcError('CONSENSUS_FORK', 'certificate contradicts the finalized log', { slot: p.slot, id: p.id });
    }
    if (this.#pendingCerts.get(p.slot)?.proposal.id === p.id) return 'duplicate';
    const chain = this.#checkCert(c);
    if (chain === 'missing') {
      if (this.#pendingCerts.size >= MAX_PENDING_CERTS) return 'ignored';
      this.#pendingCerts.set(p.slot, c);
      return 'buffered';
    }
    this.#commit(p, c.accepts, c.finals, chain, c.bytes);
    this.evaluate(this.final.slot + 1);
    return 'applied';
  }

  /**
   * Like {@link Core.onCert}, but when the certificate's ancestry is not known here,
   * takes its oldest carried block's parent as given instead of waiting: the way in
   * for a node that joins late or restarts (docs/consensus.md, "Catching up").
   */
  adopt(c: Certificate): ReceiveResult {
    const p = c.proposal;
    if (p.slot <= this.final.slot) return this.onCert(c);
    const chain = this.#checkCert(c);
    const blocks = chain === 'missing' ? [...c.chain].reverse().concat(p) : chain;
    if (chain === 'missing') this.final = { ...blocks[0].parent };
    this.#commit(p, c.accepts, c.finals, blocks, c.bytes);
    this.evaluate(this.final.slot + 1);
    return 'applied';
  }

  /** A certificate's quorum, checked against this node's view; then its chain down to the finalized block. */
  #checkCert(c: Certificate): Proposal[] | 'missing' {
    const p = c.proposal;
    const view = this.view();
    const byVoter = (vs: readonly Vote[]) => new Map(vs.map((x) => [x.voter, x]));
    if (!this.#quorum(p.members, byVoter(c.accepts), view) || !this.#quorum(p.members, byVoter(c.finals), view)) {
      throw new KpcError('CONSENSUS_BAD_CERTIFICATE', 'certificate lacks a quorum', { slot: p.slot, accepts: c.accepts.length, finals: c.finals.length });
    }
    const chain = chainTo(p, this.slots, this.final, new Map(c.chain.map((a) => [a.id, a])));
    if (chain === 'fork') throw new KpcError('CONSENSUS_FORK', 'certificate chain skips the finalized block', { slot: p.slot });
    return chain;
  }

  // ── voting ──────────────────────────────────────────────────────────────────

  /** Re-examines every tracked slot from `from` on, in order (a notarization may unblock the next slot). */
  evaluate(from: number): void {
    for (const h of [...this.slots.keys()].filter((x) => x >= from).sort((a, b) => a - b)) {
      const st = this.slots.get(h);
      for (let i = 0; st && i < 8 && this.#step(st); i++);
      if (st && this.slots.get(h) === st) this.#touch(st); // a slot that just became current gets its timer
    }
  }

  /** One pass of the slot's rules; true if anything changed (the caller repeats until stable). */
  #step(st: SlotState): boolean {
    if (this.slots.get(st.slot) !== st) return false;
    const view = this.view();
    let changed = false;
    // Skip votes held for a member list this node did not know yet.
    for (const v of st.unpark('', '', (x) => x.phase === 'skip' && !!this.#views.get(x.view))) {
      if (this.#views.get(v.view)!.includes(v.voter)) this.#count(v, st);
      else st.forget(v);
      changed = true;
    }
    for (const p of st.proposals.values()) {
      if (!st.notarized.has(p.id) && this.#quorum(p.members, st.votes('accept', p.id), view)) changed = !!st.notarized.add(p.id);
    }
    for (const [vid, votes] of st.skipTallies()) {
      const list = this.#views.get(vid);
      if (!st.skipped && list && this.#quorum(list, votes, view)) changed = st.skipped = true;
    }
    for (const id of st.notarized) {
      const p = st.proposals.get(id)!;
      const finals = st.votes('final', id);
      const chain = this.#quorum(p.members, finals, view) ? chainTo(p, this.slots, this.final) : 'missing';
      if (Array.isArray(chain)) {
        this.#commit(p, st.votes('accept', id)!.values(), finals!.values(), chain);
        return true;
      }
    }
    if (this.#closed || !view.set.has(this.nodeId)) return changed;
    if (st.mine.accept === undefined) changed = this.#chooseVote(st, view) || changed;
    if (!st.mine.skip && st.mine.final === undefined) {
      const p = [...st.notarized].map((id) => st.proposals.get(id)!).find((x) => proposalView(x) === view.id);
      if (p) changed = this.#vote(st, 'final', p.id, view.id) || changed;
      // Every proposal here is out of reach: give up on the slot now rather than at the timer.
      else if (st.notarized.size === 0 && st.proposals.size > 0 && [...st.proposals.values()].every((x) => st.possible(x) < this.#q(x))) {
        changed = this.#vote(st, 'skip', '', view.id) || changed;
      }
    }
    return changed;
  }

  /** Accepts the first proposal (arrival order) that passes every check; rejects invalid ones on the way. */
  #chooseVote(st: SlotState, view: View): boolean {
    let changed = false;
    for (const p of st.proposals.values()) {
      if (st.mine.rejected.has(p.id) || !p.members.includes(this.nodeId) || this.host.runtime.now() > p.expires) continue;
      const ready = chainReady(p, this.slots, this.final);
      if (proposalView(p) !== view.id || ready === 'dead' || !this.#valid(p, st)) {
        st.mine.rejected.add(p.id);
        changed = this.#vote(st, 'reject', p.id, view.id) || changed;
      } else if (ready === 'ready') {
        return this.#vote(st, 'accept', p.id, view.id) || changed;
      }
    }
    return changed;
  }

  #valid(p: Proposal, st: SlotState): boolean {
    let ok = st.verdicts.get(p.id);
    if (ok === undefined) st.verdicts.set(p.id, (ok = this.host.valid(p)));
    return ok;
  }

  /** Signs, journals and sends one own vote. False if the journal refused it (then nothing is sent). */
  #vote(st: SlotState, phase: VotePhase, target: string, view: string): boolean {
    const v = signVote(this.host.identity, { phase, slot: st.slot, target, view });
    try {
      this.host.journal?.append(v.bytes);
    } catch {
      return false; // a vote that could be forgotten on restart must not be sent
    }
    if (phase === 'accept') st.mine.accept = target;
    if (phase === 'final') st.mine.final = target;
    if (phase === 'skip') st.mine.skip = true;
    st.mine.sent.push(v.bytes);
    this.#count(v, st);
    return true;
  }

  #count(v: Vote, st: SlotState): void {
    const clash = st.count(v);
    if (clash) this.#equivocation(st, v.voter, clash.bytes, v.bytes);
    this.host.broadcast(v.bytes);
    this.host.emit('vote', { phase: v.phase, slot: v.slot, target: v.target, voter: v.voter });
  }

  #q(p: Proposal): number {
    return quorumSize(p.members.length, this.host.threshold);
  }

  /** Enough listed signers, and enough of them in this node's own view (see {@link hasQuorum}). */
  #quorum(members: readonly string[], votes: ReadonlyMap<string, Vote> | undefined, view: View): boolean {
    return !!votes && hasQuorum(members, votes.keys(), view.set, this.host.threshold);
  }

  // ── finalization ────────────────────────────────────────────────────────────

  /** Finalizes `p` and its not yet finalized ancestors (`chain`, oldest first, ending with `p`). */
  #commit(p: Proposal, accepts: Iterable<Vote>, finals: Iterable<Vote>, chain: Proposal[], certBytes?: Uint8Array): void {
    const committed = new Map(chain.map((d) => [d.slot, d.id]));
    for (let h = this.final.slot + 1; h <= p.slot; h++) this.recent.set(h, { id: committed.get(h) ?? null });
    const cert = certBytes ?? buildCertificate(p, accepts, finals, chain.slice(0, -1).reverse(), this.host.maxBytes)?.bytes;
    this.recent.set(p.slot, { id: p.id, cert });
    for (const h of [...this.recent.keys()].slice(0, Math.max(0, this.recent.size - RECENT_SLOTS))) this.recent.delete(h);
    this.final = { slot: p.slot, id: p.id };
    for (const [h, st] of this.slots) {
      if (h > p.slot) continue;
      this.host.runtime.clearTimeout(st.timer);
      this.slots.delete(h);
    }
    for (const h of this.host.prior.keys()) if (h <= p.slot) this.host.prior.delete(h);
    this.host.committed(chain);
    // The proposer announces; a certificate learned from a peer is relayed, since it taught us something.
    if (cert && (certBytes || p.proposer === this.nodeId)) this.host.broadcast(cert);
    for (const [h, c] of [...this.#pendingCerts].sort((a, b) => a[0] - b[0])) {
      this.#pendingCerts.delete(h);
      try {
        if (h > this.final.slot) this.onCert(c);
      } catch {
        // valid when buffered, but it forks off what was finalized since: dropped
      }
    }
  }

  // ── queries for the engine ──────────────────────────────────────────────────

  /** Where the next own proposal goes, and whether this node may propose there now. */
  nextProposal(): { slot: number; parent: ParentRef; free: boolean } {
    const { slot, parent } = tip(this.slots, this.final);
    const st = this.slots.get(slot);
    // Already signed in that slot (e.g. for a rival): wait until it is decided or skipped.
    const busy = !!st && (st.mine.accept !== undefined || st.mine.final !== undefined || st.mine.skip || st.byProposer.has(this.nodeId));
    return { slot, parent, free: !busy && slot <= this.final.slot + MAX_SLOTS_AHEAD };
  }

  /** Where an own proposal stands: committed, still open, or lost (with the reason). */
  fate(p: Proposal): 'committed' | 'open' | KpcError {
    if (this.recent.get(p.slot)?.id === p.id) return 'committed';
    const st = this.slots.get(p.slot);
    if (p.slot <= this.final.slot) return failureOf(p, st, this.recent, this.host.threshold);
    if (!st || st.notarized.has(p.id)) return 'open';
    if (st.notarized.size > 0 || st.skipped || st.possible(p) < this.#q(p)) return failureOf(p, st, this.recent, this.host.threshold);
    return 'open';
  }

  /** Why an own proposal that is still open gave up at its deadline. */
  failure(p: Proposal): KpcError {
    return failureOf(p, this.slots.get(p.slot), this.recent, this.host.threshold);
  }

  /** This node's current view of the membership. */
  view(): View {
    return this.#views.current();
  }

  /** Stops all slot timers; afterwards the node signs nothing. */
  close(): void {
    this.#closed = true;
    for (const st of this.slots.values()) this.host.runtime.clearTimeout(st.timer);
  }

  // ── plumbing ────────────────────────────────────────────────────────────────

  #slot(h: number): SlotState {
    const st = new SlotState(h);
    const prior = this.host.prior.get(h);
    if (prior) {
      Object.assign(st.mine, { accept: prior.accept, final: prior.final, skip: prior.skip });
      for (const id of prior.rejected) st.mine.rejected.add(id);
      for (const v of prior.votes) {
        st.count(v);
        st.mine.sent.push(v.bytes);
      }
    }
    this.slots.set(h, st);
    return st;
  }

  /** New activity in a slot (a proposal, a skip vote): the timer runs, and re-sending starts over. */
  #activity(st: SlotState): void {
    st.active = true;
    st.rounds = 0;
    this.#touch(st);
  }

  /**
   * Slot timer. It runs only for a slot with activity that is current (every earlier
   * slot notarized): otherwise a byzantine proposal for a far slot could make honest
   * nodes sign skips there in advance. The first round votes skip, every round re-sends.
   */
  #touch(st: SlotState): void {
    if (st.timer !== undefined || !st.active || st.rounds >= MAX_ROUNDS || this.#closed) return;
    if (st.slot > tip(this.slots, this.final).slot) return;
    st.timer = this.host.later(() => this.#onTimer(st), this.host.timeoutMs);
  }

  #onTimer(st: SlotState): void {
    st.timer = undefined;
    if (this.#closed || this.slots.get(st.slot) !== st) return;
    st.rounds++;
    for (const b of st.mine.sent) this.host.broadcast(b);
    for (const p of st.proposals.values()) if (p.proposer === this.nodeId) this.host.broadcast(p.bytes);
    if (!st.timedOut) {
      st.timedOut = true;
      this.host.emit('timeout', { slot: st.slot });
      const view = this.view();
      if (view.set.has(this.nodeId) && !st.mine.skip && st.mine.final === undefined) this.#vote(st, 'skip', '', view.id);
    }
    this.#touch(st);
    this.evaluate(st.slot);
  }

  #equivocation(st: SlotState, author: string, a: Uint8Array, b: Uint8Array): void {
    if (st.equivocators.has(author)) return;
    st.equivocators.add(author);
    this.host.emit('equivocation', { slot: st.slot, author, evidence: [a, b] });
  }
}

function notMember(id: string, role: string): KpcError {
  return new KpcError('CONSENSUS_NOT_MEMBER', `${role} ${id} is not a member`, { nodeId: id });
}
