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
 * Links (spec §8.2): the HMAC-tagged link envelope (`link-envelope`) and the signed
 * handshake that starts a link, through the mesh's receive path into a LinkSession
 * (`handshake`, targets-link.ts). The SDP that carries the DTLS fingerprints travels in
 * signed SIGNAL envelopes (`envelope`, `envelope-text`, `bodies`).
 */
import type { FuzzTarget } from './engine.js';
import { CONSENSUS_TARGETS } from './targets-consensus.js';
import { GGUF_TARGETS } from './targets-gguf.js';
import { HOSTED_TARGETS } from './targets-hosted.js';
import { LINK_TARGETS } from './targets-link.js';
import { MISC_TARGETS } from './targets-misc.js';
import { PROTOCOL_TARGETS } from './targets-protocol.js';
import { SYNC_TARGETS } from './targets-sync.js';

export type { FuzzTarget } from './engine.js';

/** Every fuzz target, in the order they run. */
export const TARGETS: readonly FuzzTarget[] = [...PROTOCOL_TARGETS, ...LINK_TARGETS, ...SYNC_TARGETS, ...CONSENSUS_TARGETS, ...MISC_TARGETS, ...GGUF_TARGETS, ...HOSTED_TARGETS];

/** The target called `name`. */
export function targetByName(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
