/**
 * The table of fuzzed decoders. Each target builds VALID inputs (so mutations are
 * meaningful), mutates them (bit flips, truncation, extension, byte splices,
 * length-field corruption, duplicated segments, JSON edits, re-signing with the
 * sender's key), feeds them to its decoder and checks that every outcome is a
 * success or a typed rejection with a known code — and, for the stateful targets
 * (a Replica, a ConsensusEngine), that a rejection changed nothing.
 *
 * Run all of them with `npm run fuzz` (100 000 cases each by default); the test
 * suite runs `testCases` of each (test/fuzz/fuzz.node.test.ts).
 *
 * Not here: a link handshake decoder. Links are authenticated by Ed25519-signed SDP
 * inside SIGNAL envelopes (fuzzed as `envelope`, `envelope-text` and `bodies`); the
 * X25519/HKDF/HMAC link handshake of DESIGN.md §8 is not built, so there is nothing
 * to fuzz yet.
 */
import type { FuzzTarget } from './engine.js';
import { CONSENSUS_TARGETS } from './targets-consensus.js';
import { MISC_TARGETS } from './targets-misc.js';
import { PROTOCOL_TARGETS } from './targets-protocol.js';
import { SYNC_TARGETS } from './targets-sync.js';

export type { FuzzTarget } from './engine.js';

/** Every fuzz target, in the order they run. */
export const TARGETS: readonly FuzzTarget[] = [...PROTOCOL_TARGETS, ...SYNC_TARGETS, ...CONSENSUS_TARGETS, ...MISC_TARGETS];

/** The target called `name`. */
export function targetByName(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
