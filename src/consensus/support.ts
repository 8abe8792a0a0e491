/**
 * Helpers of the engine that need none of its private state: why an own proposal
 * failed, and reading the vote journal back after a restart.
 */
import { KpcError } from '../errors.js';
import { decodeMessage, type Proposal, type Vote } from './messages.js';
import { quorumSize } from './quorum.js';
import type { SlotState } from './slot.js';
import type { VoteJournal } from './types.js';

/** What this node signed in one slot before a restart. */
export interface OwnRecord {
  accept: string | undefined;
  final: string | undefined;
  skip: boolean;
  readonly rejected: string[];
  readonly votes: Vote[];
}

/**
 * The error an own proposal fails with, from what the node knows about its slot:
 * `CONSENSUS_CONFLICT` if another proposal won or members voted for a rival,
 * `CONSENSUS_REJECTED` if enough members refused it that it cannot win,
 * `CONSENSUS_TIMEOUT` otherwise.
 */
export function failureOf(
  p: Proposal,
  st: SlotState | undefined,
  recent: ReadonlyMap<number, { id: string | null }>,
  threshold: number,
  chain?: readonly Proposal[],
): KpcError {
  const detail = { slot: p.slot, proposalId: p.id };
  const winner = chain?.find((d) => d.slot === p.slot)?.id ?? recent.get(p.slot)?.id;
  if (winner && winner !== p.id) return new KpcError('CONSENSUS_CONFLICT', `another proposal was committed in slot ${p.slot}`, detail);
  if (st) {
    if ([...st.notarized].some((id) => id !== p.id)) return new KpcError('CONSENSUS_CONFLICT', `another proposal won slot ${p.slot}`, detail);
    if (p.members.some((m) => st.acceptedOther(m, p.id))) {
      return new KpcError('CONSENSUS_CONFLICT', `a rival proposal took votes in slot ${p.slot}`, detail);
    }
    if (st.possible(p) < quorumSize(p.members.length, threshold)) {
      return new KpcError('CONSENSUS_REJECTED', `members refused the proposal in slot ${p.slot}`, detail);
    }
  }
  return new KpcError('CONSENSUS_TIMEOUT', `no quorum for the proposal in slot ${p.slot} within timeoutMs`, detail);
}

/**
 * Own votes from the journal, by slot.
 * @throws KpcError `CONFIG_INVALID` if the journal cannot be read or holds a corrupt
 * entry: starting without knowing what this node signed could make it sign twice.
 */
export function loadJournal(journal: VoteJournal | undefined, nodeId: string, maxBytes: number): Map<number, OwnRecord> {
  const out = new Map<number, OwnRecord>();
  if (!journal) return out;
  try {
    for (const bytes of journal.load()) {
      const v = decodeMessage(bytes, maxBytes);
      if (v.t !== 'vote') throw new KpcError('CONFIG_INVALID', 'vote journal holds something other than a vote');
      if (v.voter !== nodeId) continue; // another identity's journal entry: not ours to honour
      let r = out.get(v.slot);
      if (!r) out.set(v.slot, (r = { accept: undefined, final: undefined, skip: false, rejected: [], votes: [] }));
      if (v.phase === 'accept') r.accept = v.target;
      if (v.phase === 'final') r.final = v.target;
      if (v.phase === 'skip') r.skip = true;
      if (v.phase === 'reject') r.rejected.push(v.target);
      r.votes.push(v);
    }
  } catch (err) {
    throw new KpcError('CONFIG_INVALID', `vote journal unreadable: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}
