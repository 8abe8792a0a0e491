/**
 * Per-slot bookkeeping and the chain rules, as plain data and pure functions so the
 * engine stays about protocol decisions rather than maps.
 *
 * Vocabulary (docs/consensus.md): a proposal is *notarized* when a quorum of its
 * members accepted it; a slot is *skipped-notarized* when a quorum voted skip; a
 * proposal is *finalized* when it is notarized and a quorum sent final votes for it.
 * Each proposal names a parent; the chain through parents (with skipped slots in
 * between) is what gets executed once its tip is finalized.
 */
import type { TimerHandle } from '../runtime.js';
import { viewId, type ParentRef, type Proposal, type Vote, type VotePhase } from './messages.js';

const viewCache = new WeakMap<Proposal, string>();

/** {@link viewId} of a proposal's member list, computed once per proposal. */
export function proposalView(p: Proposal): string {
  let id = viewCache.get(p);
  if (id === undefined) viewCache.set(p, (id = viewId(p.members)));
  return id;
}

/** Key under which votes are de-duplicated: one per (phase, target, voter). */
export function voteKey(v: Vote): string {
  return `${v.phase}|${v.target}|${v.voter}`;
}

/** Whether an honest voter could never have signed both `a` and `b` (same slot). */
export function conflicting(a: Vote, b: Vote): boolean {
  if (a.phase === b.phase) return (a.phase === 'accept' || a.phase === 'final') && a.target !== b.target;
  return (a.phase === 'skip' && b.phase === 'final') || (a.phase === 'final' && b.phase === 'skip');
}

/** What this node itself signed in a slot. */
export interface OwnVotes {
  accept: string | undefined;
  final: string | undefined;
  skip: boolean;
  readonly rejected: Set<string>;
  /** Bytes of every own vote, re-sent on timer rounds for peers that lost them. */
  readonly sent: Uint8Array[];
}

/** Everything one node knows about one slot. */
export class SlotState {
  /** Valid proposals, in arrival order ("the first valid proposal" is the first in this map). */
  readonly proposals = new Map<string, Proposal>();
  /** One proposal per proposer; a second is equivocation. */
  readonly byProposer = new Map<string, Proposal>();
  /** Every vote seen (counted or parked), by {@link voteKey}. */
  readonly seen = new Map<string, Vote>();
  /** Counted votes: phase → proposal id (or view id, for skip) → voter → vote. */
  readonly #tallies: Record<VotePhase, Map<string, Map<string, Vote>>> = {
    accept: new Map(),
    reject: new Map(),
    skip: new Map(),
    final: new Map(),
  };
  /** Every vote per voter, for equivocation checks and for {@link SlotState.possible}. */
  readonly #byVoter = new Map<string, Vote[]>();
  /** Votes waiting for their proposal (or their member list) to arrive. */
  parked: Vote[] = [];
  readonly notarized = new Set<string>();
  skipped = false;
  readonly mine: OwnVotes = { accept: undefined, final: undefined, skip: false, rejected: new Set(), sent: [] };
  /** Cached `validate` outcome per proposal id: executors run once per proposal. */
  readonly verdicts = new Map<string, boolean>();
  /** Authors already reported as equivocating here (one event each). */
  readonly equivocators = new Set<string>();
  timer: TimerHandle | undefined;
  /** A proposal or skip vote has been seen here: the slot timer may run. */
  active = false;
  rounds = 0;
  timedOut = false;

  constructor(readonly slot: number) {}

  /** Counts a vote; returns an earlier vote by the same voter that it conflicts with, if any. */
  count(v: Vote): Vote | undefined {
    const bucket = v.phase === 'skip' ? v.view : v.target;
    let t = this.#tallies[v.phase].get(bucket);
    if (!t) this.#tallies[v.phase].set(bucket, (t = new Map()));
    t.set(v.voter, v);
    return this.#track(v);
  }

  /** Holds a vote whose proposal or view is unknown; returns a conflicting earlier vote, if any. */
  park(v: Vote): Vote | undefined {
    this.parked.push(v);
    return this.#track(v);
  }

  /** Parked votes for proposal `id`, skips for member list `view`, or any `also` accepts; removed from the parking. */
  unpark(id: string, view: string, also?: (v: Vote) => boolean): Vote[] {
    const out = this.parked.filter((v) => (id && v.target === id) || (view && v.phase === 'skip' && v.view === view) || also?.(v));
    if (out.length > 0) this.parked = this.parked.filter((v) => !out.includes(v));
    return out;
  }

  /** Forgets a parked vote that turned out invalid, so it skews nothing. */
  forget(v: Vote): void {
    this.seen.delete(voteKey(v));
    const list = this.#byVoter.get(v.voter);
    if (list) this.#byVoter.set(v.voter, list.filter((o) => o !== v));
  }

  /** Number of parked votes by `voter` (bounded, so nobody fills memory with votes for made-up proposals). */
  parkedBy(voter: string): number {
    return this.parked.reduce((n, v) => n + (v.voter === voter ? 1 : 0), 0);
  }

  #track(v: Vote): Vote | undefined {
    const key = voteKey(v);
    const list = this.#byVoter.get(v.voter) ?? [];
    if (this.seen.get(key) === v) return undefined; // an unparked vote, already tracked
    this.seen.set(key, v);
    const clash = list.find((o) => conflicting(o, v));
    list.push(v);
    this.#byVoter.set(v.voter, list);
    return clash;
  }

  /** Counted votes of `phase` for a proposal id (or, for skip, a view id). */
  votes(phase: VotePhase, bucket: string): ReadonlyMap<string, Vote> | undefined {
    return this.#tallies[phase].get(bucket);
  }

  /** Skip tallies per view id. */
  skipTallies(): IterableIterator<[string, Map<string, Vote>]> {
    return this.#tallies.skip.entries();
  }

  /** Whether `voter` accepted some proposal other than `id` in this slot (parked votes included). */
  acceptedOther(voter: string, id: string): boolean {
    return (this.#byVoter.get(voter) ?? []).some((v) => v.phase === 'accept' && v.target !== id);
  }

  /**
   * Most accept votes `p` could still gather: members that accepted it, plus members
   * that have neither rejected it nor accepted a rival. Honest members vote once per
   * slot, so below the quorum means `p` is out of reach (unless rivals' voters are
   * byzantine and vote twice, which costs liveness, never safety).
   */
  possible(p: Proposal): number {
    const acc = this.votes('accept', p.id);
    const rej = this.votes('reject', p.id);
    let n = 0;
    for (const m of p.members) if (acc?.has(m) || (!rej?.has(m) && !this.acceptedOther(m, p.id))) n++;
    return n;
  }
}

/**
 * Where the next proposal goes: the first slot after the finalized one that has no
 * notarization yet, extending the best notarized chain up to it. Where a slot has
 * both a notarized proposal and a notarized skip, the skip is preferred: a quorum
 * agreed to give up on that slot, and its proposer has most likely been told so.
 */
export function tip(slots: ReadonlyMap<number, SlotState>, final: ParentRef): { slot: number; parent: ParentRef } {
  let h = final.slot + 1;
  for (let st = slots.get(h); st && (st.skipped || st.notarized.size > 0); st = slots.get(++h));
  for (let j = h - 1; j > final.slot; j--) {
    const st = slots.get(j)!;
    if (!st.skipped) return { slot: h, parent: { slot: j, id: st.notarized.values().next().value as string } };
  }
  return { slot: h, parent: final };
}

/**
 * Whether `p`'s chain is one an honest node may vote for: its parent is the finalized
 * block or a notarized one after it, and every slot in between is skip-notarized.
 * `dead` means it can never become valid (it forks off the finalized chain).
 */
export function chainReady(p: Proposal, slots: ReadonlyMap<number, SlotState>, final: ParentRef): 'ready' | 'wait' | 'dead' {
  const { slot: k, id } = p.parent;
  if (k < final.slot || (k === final.slot && id !== final.id)) return 'dead';
  if (k > final.slot && !slots.get(k)?.notarized.has(id)) return 'wait';
  for (let j = k + 1; j < p.slot; j++) if (!slots.get(j)?.skipped) return 'wait';
  return 'ready';
}

/**
 * The blocks that finalizing `p` commits, oldest first (ending with `p`): its
 * ancestors back to the finalized block. `missing` if an ancestor is not known yet,
 * `fork` if the chain does not pass through the finalized block.
 */
export function chainTo(
  p: Proposal,
  slots: ReadonlyMap<number, SlotState>,
  final: ParentRef,
  extra?: ReadonlyMap<string, Proposal>,
): Proposal[] | 'missing' | 'fork' {
  const chain: Proposal[] = [];
  for (let cur = p; ; ) {
    chain.push(cur);
    const { slot: k, id } = cur.parent;
    if (k <= final.slot) return k === final.slot && id === final.id ? chain.reverse() : 'fork';
    const next = extra?.get(id) ?? slots.get(k)?.proposals.get(id);
    if (!next || next.slot !== k) return 'missing';
    cur = next;
  }
}
