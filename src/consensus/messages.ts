/**
 * The consensus wire format: proposals, votes and commit certificates as canonical
 * JSON (layout and rationale in docs/consensus.md).
 *
 * Every message is self-authenticating, because it is flooded and relayed by nodes
 * other than its author: a proposal and a vote carry their author's Ed25519 public
 * key and a signature over their canonical content with a per-type domain prefix;
 * the author's node id is derived from the key, never taken from the message. A
 * certificate is not signed as a whole: it is a bag of signed parts that anyone can
 * check.
 *
 * Decoding trusts nothing: size first, then canonical JSON, then an exact schema
 * (no missing, extra or mistyped field), then signatures. Every failure, for any
 * input whatsoever, is a `KpcError`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex, utf8Encode } from '../crypto/bytes.js';
import { isNodeId, nodeIdFromPublicKey, sign, verify, type Identity } from '../crypto/identity.js';
import { KpcError } from '../errors.js';
import { canonicalJsonBytes, parseCanonicalJson, type JsonValue } from '../protocol/canonical-json.js';

/** Version number every consensus message carries in its `v` field. */
export const CONSENSUS_VERSION = 1;
/** Parent id of the first block of every chain (slot −1). */
export const GENESIS_ID = '0'.repeat(64);
/** Most members a proposal may list. Keeps a certificate (2 × quorum votes) well inside one message. */
export const MAX_MEMBERS = 96;
/** Most ancestors a certificate carries; older ones come from older certificates. */
export const MAX_CHAIN = 32;
/** Default largest message accepted or produced: fits in a 64 KiB envelope with room for its header. */
export const DEFAULT_MAX_MESSAGE_BYTES = 60 * 1024;
/** Longest proposal lifetime (`expires − created`) accepted: one day. */
export const MAX_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** Decision kinds: 1–64 chars, e.g. `model-spec`, `evict`, `app:my-thing`. */
export const KIND_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const DOMAIN_PROPOSAL = utf8Encode('kpc/consensus/v1/proposal\n');
const DOMAIN_VOTE = utf8Encode('kpc/consensus/v1/vote\n');
const DOMAIN_VIEW = utf8Encode('kpc/consensus/v1/view\n');
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** Reference to the block a proposal extends. */
export interface ParentRef {
  /** Slot of the parent block, −1 for genesis. */
  readonly slot: number;
  /** Id of the parent block, {@link GENESIS_ID} for genesis. */
  readonly id: string;
}

/** What a proposer decides; the rest of a {@link Proposal} is derived or signed. */
export interface ProposalFields {
  /** Log position this proposal competes for (≥ 0). */
  readonly slot: number;
  /** The block it extends; every slot strictly between parent and this one is skipped in its chain. */
  readonly parent: ParentRef;
  /** Executor name, {@link KIND_PATTERN}. */
  readonly kind: string;
  /** Canonical-JSON payload, checked by the executor's `validate`. */
  readonly payload: JsonValue;
  /** The proposer's view of READY membership: sorted, distinct node ids, including the proposer. */
  readonly members: readonly string[];
  /** Proposer's clock, ms since the epoch. */
  readonly created: number;
  /** After this (voter's clock) honest nodes no longer accept it. */
  readonly expires: number;
}

/** A verified proposal. */
export interface Proposal extends ProposalFields {
  readonly t: 'proposal';
  /** Hex SHA-256 of the signed bytes (domain ‖ canonical content without `sig`). */
  readonly id: string;
  /** Node id derived from {@link Proposal.key}. */
  readonly proposer: string;
  /** Proposer's Ed25519 public key, hex. */
  readonly key: string;
  /** Ed25519 signature, hex. */
  readonly sig: string;
  /** Canonical wire bytes. */
  readonly bytes: Uint8Array;
}

/**
 * `accept`: I vote for this proposal (at most once per slot). `reject`: I refuse it
 * (informational, lets its proposer fail fast). `skip`: I give up on this slot without
 * a decision (at most once per slot, never after `final`). `final`: I saw the
 * proposal notarized and have not skipped the slot (never after `skip`).
 */
export type VotePhase = 'accept' | 'reject' | 'skip' | 'final';

/** What a voter signs. */
export interface VoteFields {
  readonly phase: VotePhase;
  readonly slot: number;
  /** Proposal id; empty string for `skip`. */
  readonly target: string;
  /** {@link viewId} of the member list the vote counts against (the proposal's, or the voter's own for `skip`/`reject`). */
  readonly view: string;
}

/** A verified vote. */
export interface Vote extends VoteFields {
  readonly t: 'vote';
  /** Node id derived from {@link Vote.key}. */
  readonly voter: string;
  readonly key: string;
  readonly sig: string;
  readonly bytes: Uint8Array;
}

/** A finalization certificate: a proposal, a quorum of its accept and final votes, and its recent ancestors. */
export interface Certificate {
  readonly t: 'cert';
  readonly proposal: Proposal;
  readonly accepts: readonly Vote[];
  readonly finals: readonly Vote[];
  /** Ancestors, parent first, each the parent of the one before. */
  readonly chain: readonly Proposal[];
  readonly bytes: Uint8Array;
}

/** Any decoded consensus message. */
export type ConsensusMessage = Proposal | Vote | Certificate;

type Obj = { [key: string]: JsonValue };

function bad(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('CONSENSUS_BAD_MESSAGE', message, detail);
}

function badCert(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('CONSENSUS_BAD_CERTIFICATE', message, detail);
}

/** Exactly these keys, so no unsigned field can ride along and two spellings cannot mean one message. */
function object(v: unknown, keys: readonly string[], what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  const got = Object.keys(v);
  if (got.length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) {
    throw bad(`${what} must have exactly the fields ${keys.join(', ')}`, { got });
  }
  return v as Obj;
}

function int(v: unknown, min: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(`${what} must be an integer ≥ ${min}`);
  return v;
}

function str(v: unknown, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v)) throw bad(`${what} is malformed`);
  return v;
}

function list(v: unknown, max: number, what: string): JsonValue[] {
  if (!Array.isArray(v) || v.length > max) throw bad(`${what} must be an array of at most ${max}`);
  return v;
}

/**
 * Signer's node id, after checking the signature over domain ‖ canonical content.
 * `trusted` skips only the signature check, for parts this node signed or already
 * verified (re-verifying them would double the cost of every certificate).
 */
function checkSignature(domain: Uint8Array, content: Obj, key: string, sig: string, trusted: boolean): { signed: Uint8Array; signer: string } {
  const signed = concatBytes(domain, canonicalJsonBytes(content));
  if (!trusted && !verify(fromHex(key), signed, fromHex(sig))) throw new KpcError('PROTO_BAD_SIGNATURE', 'consensus signature does not verify');
  return { signed, signer: nodeIdFromPublicKey(fromHex(key)) };
}

/**
 * Id of a member list: hex SHA-256 of its canonical JSON (domain-separated). Votes
 * carry it so they are only ever counted against the list their signer saw.
 */
export function viewId(members: readonly string[]): string {
  return toHex(sha256(concatBytes(DOMAIN_VIEW, canonicalJsonBytes(members))));
}

/** Payloads are shared by the log, events and executors: frozen, so none can change what another sees. */
function deepFreeze(v: JsonValue): JsonValue {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

function readProposal(v: unknown, trusted = false): Proposal {
  const o = object(v, ['created', 'expires', 'key', 'kind', 'members', 'parent', 'payload', 'sig', 'slot', 't', 'v'], 'proposal');
  if (o.t !== 'proposal' || o.v !== CONSENSUS_VERSION) throw bad('not a v1 proposal');
  const slot = int(o.slot, 0, 'slot');
  const p = object(o.parent, ['id', 'slot'], 'parent');
  const parent = { slot: int(p.slot, -1, 'parent.slot'), id: str(p.id, HEX64, 'parent.id') };
  if (parent.slot >= slot) throw bad('parent must precede the slot');
  if (parent.slot === -1 && parent.id !== GENESIS_ID) throw bad('genesis parent must have the genesis id');
  const kind = str(o.kind, KIND_PATTERN, 'kind');
  const members = list(o.members, MAX_MEMBERS, 'members').map((m) => {
    if (!isNodeId(m)) throw bad('members must be node ids');
    return m;
  });
  for (let i = 1; i < members.length; i++) if (members[i - 1] >= members[i]) throw bad('members must be sorted and distinct');
  const created = int(o.created, 0, 'created');
  const expires = int(o.expires, 0, 'expires');
  if (expires <= created || expires - created > MAX_LIFETIME_MS) throw bad('expires out of range');
  const key = str(o.key, HEX64, 'key');
  const sig = str(o.sig, HEX128, 'sig');
  const { sig: _sig, ...content } = o;
  const { signed, signer } = checkSignature(DOMAIN_PROPOSAL, content, key, sig, trusted);
  if (!members.includes(signer)) throw bad('the proposer must be a listed member');
  return Object.freeze({
    t: 'proposal' as const,
    id: toHex(sha256(signed)),
    slot,
    parent: Object.freeze(parent),
    kind,
    payload: deepFreeze(o.payload),
    members: Object.freeze(members as string[]),
    created,
    expires,
    proposer: signer,
    key,
    sig,
    bytes: canonicalJsonBytes(o),
  });
}

function readVote(v: unknown, trusted = false): Vote {
  const o = object(v, ['key', 'phase', 'sig', 'slot', 't', 'target', 'v', 'view'], 'vote');
  if (o.t !== 'vote' || o.v !== CONSENSUS_VERSION) throw bad('not a v1 vote');
  const phase = o.phase;
  if (phase !== 'accept' && phase !== 'reject' && phase !== 'skip' && phase !== 'final') throw bad('unknown vote phase');
  const slot = int(o.slot, 0, 'slot');
  const target = phase === 'skip' ? str(o.target, /^$/, 'skip target') : str(o.target, HEX64, 'target');
  const view = str(o.view, HEX64, 'view');
  const key = str(o.key, HEX64, 'key');
  const sig = str(o.sig, HEX128, 'sig');
  const { sig: _sig, ...content } = o;
  const { signer } = checkSignature(DOMAIN_VOTE, content, key, sig, trusted);
  return Object.freeze({ t: 'vote' as const, phase, slot, target, view, voter: signer, key, sig, bytes: canonicalJsonBytes(o) });
}

/**
 * Votes inside a certificate are only `{key, sig}`; the rest is implied by the
 * proposal. Order and membership are checked before any signature, so a junk
 * certificate costs hashes, not a hundred signature verifications.
 */
function readCertVotes(v: unknown, phase: 'accept' | 'final', p: Proposal, what: string, trusted: boolean): Vote[] {
  const view = viewId(p.members);
  const parts = list(v, MAX_MEMBERS, what).map((e) => object(e, ['key', 'sig'], what));
  const keys = parts.map((c) => str(c.key, HEX64, 'key'));
  for (let i = 1; i < keys.length; i++) if (keys[i - 1] >= keys[i]) throw badCert(`${what} must be sorted by key and distinct`);
  for (const key of keys) {
    const voter = nodeIdFromPublicKey(fromHex(key));
    if (!p.members.includes(voter)) throw badCert(`${what} has a vote from a non-member`, { voter });
  }
  return parts.map((c) => readVote({ key: c.key, phase, sig: c.sig, slot: p.slot, t: 'vote', target: p.id, v: CONSENSUS_VERSION, view }, trusted));
}

function readCertificate(o: Obj, trusted = false): Certificate {
  object(o, ['accepts', 'chain', 'finals', 'proposal', 't', 'v'], 'certificate');
  if (o.v !== CONSENSUS_VERSION) throw bad('not a v1 certificate');
  const proposal = readProposal(o.proposal, trusted);
  const accepts = readCertVotes(o.accepts, 'accept', proposal, 'accepts', trusted);
  const finals = readCertVotes(o.finals, 'final', proposal, 'finals', trusted);
  const chain = list(o.chain, MAX_CHAIN, 'chain').map((a) => readProposal(a, trusted));
  let child = proposal;
  for (const anc of chain) {
    if (anc.id !== child.parent.id || anc.slot !== child.parent.slot) throw badCert('chain is not linked parent by parent');
    child = anc;
  }
  return Object.freeze({ t: 'cert' as const, proposal, accepts, finals, chain: Object.freeze(chain), bytes: canonicalJsonBytes(o) });
}

/**
 * Decodes and verifies one message from the network.
 * @throws KpcError `PROTO_OVERSIZE`, `CONSENSUS_BAD_MESSAGE`, `PROTO_BAD_SIGNATURE` or
 * `CONSENSUS_BAD_CERTIFICATE`; never anything else.
 */
export function decodeMessage(bytes: Uint8Array, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): ConsensusMessage {
  return decode(bytes, maxBytes, false);
}

function decode(bytes: Uint8Array, maxBytes: number, trusted: boolean): ConsensusMessage {
  if (!(bytes instanceof Uint8Array)) throw bad('message must be a Uint8Array');
  if (bytes.length > maxBytes) throw new KpcError('PROTO_OVERSIZE', 'consensus message too large', { size: bytes.length, maxBytes });
  let value: JsonValue;
  try {
    value = parseCanonicalJson(bytes);
  } catch (err) {
    throw bad('consensus message is not canonical JSON', { cause: err instanceof Error ? err.message : String(err) });
  }
  const t = typeof value === 'object' && value !== null && !Array.isArray(value) ? value.t : undefined;
  try {
    if (t === 'proposal') return readProposal(value, trusted);
    if (t === 'vote') return readVote(value, trusted);
    if (t === 'cert') return readCertificate(value as Obj, trusted);
  } catch (err) {
    if (err instanceof KpcError) throw err;
    throw bad(`consensus message rejected: ${String(err)}`); // e.g. a key that is not a curve point
  }
  throw bad('unknown consensus message type');
}

/**
 * Decodes WITHOUT checking signatures (schema only), so a receiver can recognise a
 * message it already has (typically a certificate, whose full check costs dozens of
 * signature verifications) before paying for it. Never act on the result.
 * @throws KpcError as {@link decodeMessage}, except `PROTO_BAD_SIGNATURE`.
 */
export function peekMessage(bytes: Uint8Array, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): ConsensusMessage {
  return decode(bytes, maxBytes, true);
}

function checkSize(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.length > maxBytes) throw new KpcError('PROTO_OVERSIZE', 'consensus message too large', { size: bytes.length, maxBytes });
  return bytes;
}

/**
 * Signs a proposal. The result goes through the decoder's schema checks before it
 * is returned, so a node never emits a message it would itself reject.
 * @throws KpcError `CONSENSUS_BAD_MESSAGE` for invalid fields, `PROTO_BAD_BODY` for a
 * payload canonical JSON cannot carry, `PROTO_OVERSIZE` beyond `maxBytes`.
 */
export function signProposal(identity: Identity, f: ProposalFields, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Proposal {
  const content = {
    created: f.created,
    expires: f.expires,
    key: toHex(identity.publicKey),
    kind: f.kind,
    members: [...f.members],
    parent: { id: f.parent.id, slot: f.parent.slot },
    payload: f.payload,
    slot: f.slot,
    t: 'proposal',
    v: CONSENSUS_VERSION,
  };
  const sig = toHex(sign(identity, concatBytes(DOMAIN_PROPOSAL, canonicalJsonBytes(content))));
  return decode(checkSize(canonicalJsonBytes({ ...content, sig }), maxBytes), maxBytes, true) as Proposal;
}

/** Signs a vote (schema-checked before it is returned, like {@link signProposal}). */
export function signVote(identity: Identity, f: VoteFields): Vote {
  const content = { key: toHex(identity.publicKey), phase: f.phase, slot: f.slot, t: 'vote', target: f.target, v: CONSENSUS_VERSION, view: f.view };
  const sig = toHex(sign(identity, concatBytes(DOMAIN_VOTE, canonicalJsonBytes(content))));
  return decode(canonicalJsonBytes({ ...content, sig }), DEFAULT_MAX_MESSAGE_BYTES, true) as Vote;
}

function plain(p: Proposal): JsonValue {
  return parseCanonicalJson(p.bytes);
}

/**
 * Assembles a certificate from already verified parts (not re-verified): the proposal, accept and final votes
 * for it (any order; sorted here), and ancestors parent first. Returns `undefined`
 * if it does not fit in `maxBytes` even without ancestors.
 */
export function buildCertificate(
  proposal: Proposal,
  accepts: Iterable<Vote>,
  finals: Iterable<Vote>,
  chain: readonly Proposal[],
  maxBytes = DEFAULT_MAX_MESSAGE_BYTES,
): Certificate | undefined {
  const compact = (votes: Iterable<Vote>) =>
    [...votes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((v) => ({ key: v.key, sig: v.sig }));
  const base = { accepts: compact(accepts), finals: compact(finals), proposal: plain(proposal), t: 'cert', v: CONSENSUS_VERSION };
  // Drop ancestors from the oldest end until it fits: a receiver missing them asks for older certificates.
  for (let n = Math.min(chain.length, MAX_CHAIN); n >= 0; n--) {
    const bytes = canonicalJsonBytes({ ...base, chain: chain.slice(0, n).map(plain) });
    if (bytes.length <= maxBytes) return decode(bytes, maxBytes, true) as Certificate;
  }
  return undefined;
}
