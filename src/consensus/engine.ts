/**
 * The consensus engine (spec §5.2): Propose → Broadcast → Consensus → Execute, with
 * rollback on execution failure. Protocol, safety argument and message formats are
 * in docs/consensus.md; the per-node protocol rules live in `core.ts`, and this file
 * adds the public API: own proposals, execution in slot order, and events.
 *
 * The engine does no networking and reads no clock of its own: the lead floods what
 * it passes to `send` and feeds what peers sent to {@link ConsensusEngine.receive};
 * time comes from the injected {@link Runtime}, so a simulator can drive it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../crypto/bytes.js';
import { isNodeId } from '../crypto/identity.js';
import { KpcError } from '../errors.js';
import { canonicalJsonBytes, parseCanonicalJson, type JsonValue } from '../protocol/canonical-json.js';
import { systemRuntime, type Runtime, type TimerHandle } from '../runtime.js';
import { Core } from './core.js';
import { runExecutor } from './execute.js';
import { DEFAULT_MAX_MESSAGE_BYTES, KIND_PATTERN, MAX_LIFETIME_MS, decodeMessage, peekMessage, signProposal, type Proposal } from './messages.js';
import { DEFAULT_THRESHOLD, scaledThreshold } from './quorum.js';
import { loadJournal } from './support.js';
import type { ConsensusEventMap, ConsensusOptions, Decision, Executor, ReceiveResult } from './types.js';

export { MAX_SLOTS_AHEAD } from './core.js';

/** Default slot timer and proposal lifetime. */
export const DEFAULT_TIMEOUT_MS = 10_000;
const SEEN_HASHES = 8192;

interface Pending {
  readonly kind: string;
  readonly payload: JsonValue;
  readonly resolve: (d: Decision) => void;
  readonly reject: (e: unknown) => void;
  timer?: TimerHandle;
  proposal?: Proposal;
  done: boolean;
}

function closedError(): KpcError {
  return new KpcError('CONSENSUS_CLOSED', 'consensus engine is closed');
}

function option(ok: boolean, name: string, value: unknown): void {
  if (!ok) throw new KpcError('CONFIG_INVALID', `invalid consensus option ${name}`, { [name]: typeof value === 'number' ? value : typeof value });
}

// Typed overloads of the EventTarget methods (declaration merging with the class).
export interface ConsensusEngine {
  addEventListener<K extends keyof ConsensusEventMap>(type: K, listener: (ev: ConsensusEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ConsensusEventMap>(type: K, listener: (ev: ConsensusEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/**
 * One node's consensus: proposes, votes, relays, finalizes, and executes decisions
 * in slot order. Events: `proposal`, `vote`, `commit`, `rollback`, `timeout`,
 * `equivocation` ({@link ConsensusEventMap}).
 *
 * @example
 * const engine = new ConsensusEngine({ identity, executors: { 'model-spec': modelExecutor },
 *   members: () => readyMemberIds(), send: (bytes) => mesh.flood(bytes) });
 * onConsensusBytes((bytes, from) => { try { engine.receive(bytes, from) } catch (e) { penalise(from, e) } });
 * const decision = await engine.propose('model-spec', { name: 'kpc-tiny', seed: 7 });
 */
export class ConsensusEngine extends EventTarget {
  /** This node's id. */
  readonly nodeId: string;
  readonly #rt: Runtime;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #executors: Readonly<Record<string, Executor<unknown>>>;
  readonly #sendFn: (bytes: Uint8Array) => void;
  readonly #core: Core;
  #closed = false;
  /** Hashes of messages already handled: duplicates are dropped before any signature check. */
  readonly #seen = new Set<string>();
  readonly #decisions: Decision[] = [];
  readonly #queue: Pending[] = [];
  #inflight?: Pending;
  /** Own proposals that committed (or may still), by id, until they have been applied. */
  readonly #waiting = new Map<string, Pending>();
  #exec: Promise<void> = Promise.resolve();
  readonly #out: Uint8Array[] = [];
  readonly #events: Event[] = [];
  #depth = 0;

  /** @throws KpcError `CONFIG_INVALID` for a bad option or an unreadable journal. */
  constructor(opts: ConsensusOptions) {
    super();
    option(typeof opts === 'object' && opts !== null, 'opts', opts);
    option(!!opts.identity && isNodeId(opts.identity.nodeId), 'identity', opts.identity);
    option(typeof opts.members === 'function', 'members', opts.members);
    option(typeof opts.send === 'function', 'send', opts.send);
    option(typeof opts.executors === 'object' && opts.executors !== null, 'executors', opts.executors);
    for (const [kind, ex] of Object.entries(opts.executors)) {
      const methods = ['validate', 'snapshot', 'execute', 'restore'] as const;
      option(KIND_PATTERN.test(kind) && !!ex && methods.every((m) => typeof ex[m] === 'function'), `executors.${kind}`, ex);
    }
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    option(Number.isSafeInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_LIFETIME_MS, 'timeoutMs', timeoutMs);
    const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    option(Number.isSafeInteger(maxBytes) && maxBytes >= 4096, 'maxMessageBytes', maxBytes);
    const threshold = opts.threshold ?? DEFAULT_THRESHOLD;
    scaledThreshold(threshold);
    this.nodeId = opts.identity.nodeId;
    this.#rt = opts.runtime ?? systemRuntime;
    this.#timeoutMs = timeoutMs;
    this.#maxBytes = maxBytes;
    this.#executors = opts.executors;
    this.#sendFn = opts.send;
    const rt = this.#rt;
    this.#core = new Core({
      identity: opts.identity,
      runtime: rt,
      threshold,
      timeoutMs,
      maxBytes,
      journal: opts.journal,
      prior: loadJournal(opts.journal, this.nodeId, maxBytes),
      members: opts.members,
      valid: (p) => {
        try {
          this.#executor(p.kind)!.validate(p.payload);
          return true;
        } catch {
          return false; // also: no executor for this kind
        }
      },
      later: (fn, ms) => rt.setTimeout(() => this.#run(fn), ms),
      broadcast: (bytes) => {
        this.#remember(toHex(sha256(bytes)));
        this.#out.push(bytes);
      },
      emit: (type, detail) => this.#events.push(new CustomEvent(type, { detail })),
      committed: (chain) => {
        for (const p of chain) this.#exec = this.#exec.then(() => this.#apply(p));
      },
    });
  }

  /** The committed log, in slot order, each entry once it has been applied locally. */
  get decisions(): readonly Decision[] {
    return Object.freeze([...this.#decisions]);
  }

  /** Slot of the last finalized decision (−1 before the first). */
  get finalizedSlot(): number {
    return this.#core.final.slot;
  }

  /** The slot this node's next proposal would compete for. */
  nextSlot(): number {
    return this.#core.nextProposal().slot;
  }

  /**
   * Certificates of recent finalized decisions from `fromSlot` on, oldest first: what
   * a peer that missed them needs (it passes each to its `receive`).
   */
  certificates(fromSlot = 0): Uint8Array[] {
    return [...this.#core.recent].filter(([h, r]) => h >= fromSlot && r.cert).map(([, r]) => r.cert!);
  }

  /**
   * Proposes a decision; resolves once it is committed and applied here (the
   * decision's `status` says whether it executed or was rolled back). Own proposals
   * go out one at a time, each into the next free slot.
   *
   * Rejects with KpcError `CONSENSUS_UNKNOWN_KIND`, the executor's own error for a
   * payload it refuses, `CONSENSUS_NOT_MEMBER` (this node is not in `members()`),
   * `CONSENSUS_CONFLICT` (another proposal won the slot), `CONSENSUS_REJECTED`
   * (members refused it), `CONSENSUS_TIMEOUT` (no decision within `timeoutMs`),
   * `CONSENSUS_CLOSED`. After `TIMEOUT` the proposal may, rarely, still commit
   * later; the `commit` event then reports it (docs/consensus.md, "Timeouts").
   */
  propose(kind: string, payload: JsonValue): Promise<Decision> {
    return new Promise<Decision>((resolve, reject) => {
      if (this.#closed) return reject(closedError());
      const ex = this.#executor(kind);
      if (!ex) return reject(new KpcError('CONSENSUS_UNKNOWN_KIND', `no executor for decision kind ${JSON.stringify(kind)}`, { kind }));
      let copy: JsonValue;
      try {
        copy = parseCanonicalJson(canonicalJsonBytes(payload)); // detached from the caller's object
        ex.validate(copy);
      } catch (err) {
        return reject(err instanceof KpcError ? err : new KpcError('CONSENSUS_REJECTED', `payload refused: ${String(err)}`, { kind }));
      }
      const p: Pending = { kind, payload: copy, resolve, reject, done: false };
      p.timer = this.#rt.setTimeout(() => this.#run(() => this.#queueTimeout(p)), this.#timeoutMs);
      this.#queue.push(p);
      this.#run(() => undefined);
    });
  }

  /**
   * Handles one message from a peer. Untrusted input: it is decoded, validated and
   * verified before anything changes.
   * @param from node id of the direct sender (unused for now: the lead rate-limits).
   * @throws KpcError `CONSENSUS_BAD_MESSAGE`, `PROTO_BAD_SIGNATURE`, `PROTO_OVERSIZE`,
   * `CONSENSUS_NOT_MEMBER`, `CONSENSUS_BAD_CERTIFICATE` or `CONSENSUS_FORK` for input
   * an honest peer would not send; nothing has changed then.
   */
  receive(bytes: Uint8Array, from?: string): ReceiveResult {
    void from;
    if (this.#closed) return 'ignored';
    const hash = bytes instanceof Uint8Array && bytes.length <= this.#maxBytes ? toHex(sha256(bytes)) : '';
    if (this.#seen.has(hash)) return 'duplicate';
    if (this.#knownCertificate(bytes)) return 'duplicate';
    const msg = decodeMessage(bytes, this.#maxBytes);
    const core = this.#core;
    const result = this.#run(() => (msg.t === 'proposal' ? core.onProposal(msg, false) : msg.t === 'vote' ? core.onVote(msg) : core.onCert(msg)));
    if (result === 'applied' || result === 'duplicate') this.#remember(hash);
    return result;
  }

  /**
   * Jumps to the decision a certificate proves, without replaying what came before
   * it if that is not known here: for a node that joins late or restarts, and that
   * gets the effect of earlier decisions from state sync. Only the certificate's own
   * blocks (its proposal and the ancestors it carries) are executed. Verified like
   * {@link ConsensusEngine.receive}; a certificate at or below the finalized slot is
   * handled exactly as by `receive`.
   * @throws KpcError as `receive`, and `CONSENSUS_BAD_MESSAGE` if `bytes` is not a certificate.
   */
  adopt(bytes: Uint8Array): ReceiveResult {
    if (this.#closed) return 'ignored';
    const msg = decodeMessage(bytes, this.#maxBytes);
    if (msg.t !== 'cert') throw new KpcError('CONSENSUS_BAD_MESSAGE', 'adopt() takes a certificate');
    return this.#run(() => this.#core.adopt(msg));
  }

  /** Stops timers and rejects pending proposals with `CONSENSUS_CLOSED`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.close();
    const pending = new Set([...this.#queue, ...this.#waiting.values(), ...(this.#inflight ? [this.#inflight] : [])]);
    this.#queue.length = 0;
    for (const p of pending) this.#fail(p, closedError());
  }

  // ── own proposals ───────────────────────────────────────────────────────────

  /** Settles the in-flight proposal if its slot moved on, then sends the next one if this node may. */
  #advance(): void {
    for (;;) {
      const cur = this.#inflight;
      if (cur?.proposal) {
        const fate = this.#core.fate(cur.proposal);
        if (fate === 'open') return;
        if (fate === 'committed') this.#release(cur); // resolved once applied
        else this.#fail(cur, fate);
      }
      if (this.#closed || this.#queue.length === 0) return;
      const p = this.#queue[0];
      const view = this.#core.view();
      if (!view.set.has(this.nodeId)) {
        this.#queue.shift();
        this.#fail(p, new KpcError('CONSENSUS_NOT_MEMBER', 'this node is not in its own member list', { nodeId: this.nodeId }));
        continue;
      }
      const { slot, parent, free } = this.#core.nextProposal();
      if (!free) return;
      this.#queue.shift();
      this.#rt.clearTimeout(p.timer);
      const now = this.#rt.now();
      try {
        const fields = { slot, parent, kind: p.kind, payload: p.payload, members: view.list, created: now, expires: now + this.#timeoutMs };
        p.proposal = signProposal(this.#core.host.identity, fields, this.#maxBytes);
      } catch (err) {
        this.#fail(p, err);
        continue;
      }
      this.#inflight = p;
      this.#waiting.set(p.proposal.id, p);
      p.timer = this.#rt.setTimeout(() => this.#run(() => this.#deadline(p)), this.#timeoutMs);
      this.#core.onProposal(p.proposal, true);
    }
  }

  #queueTimeout(p: Pending): void {
    if (p.done || p.proposal) return;
    this.#queue.splice(this.#queue.indexOf(p), 1);
    this.#fail(p, new KpcError('CONSENSUS_TIMEOUT', 'proposal could not be sent within timeoutMs: the current slot is undecided'));
  }

  #deadline(p: Pending): void {
    if (p.done || this.#inflight !== p) return;
    const prop = p.proposal!;
    this.#events.push(new CustomEvent('timeout', { detail: { slot: prop.slot, proposalId: prop.id } }));
    this.#fail(p, this.#core.failure(prop));
  }

  /** Own proposal committed: free the pipeline; the caller is resolved once it has been applied. */
  #release(p: Pending): void {
    this.#rt.clearTimeout(p.timer);
    if (this.#inflight === p) this.#inflight = undefined;
  }

  #fail(p: Pending, err: unknown): void {
    this.#release(p);
    if (p.proposal) this.#waiting.delete(p.proposal.id);
    if (p.done) return;
    p.done = true;
    p.reject(err);
  }

  // ── execution ───────────────────────────────────────────────────────────────

  async #apply(p: Proposal): Promise<void> {
    if (this.#closed) return;
    const ex = this.#executor(p.kind);
    const { status, error } = ex ? await runExecutor(ex, p.payload) : { status: 'unsupported' as const, error: undefined };
    const { slot, id, kind, payload, proposer, members, created } = p;
    const message = error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) };
    const decision: Decision = Object.freeze({ slot, id, kind, payload, proposer, members, created, status, ...message });
    this.#decisions.push(decision);
    this.#run(() => {
      this.#events.push(new CustomEvent('commit', { detail: decision }));
      if (status === 'rolled-back' || status === 'failed') this.#events.push(new CustomEvent('rollback', { detail: { decision, error } }));
    });
    const waiter = this.#waiting.get(id);
    if (waiter && !waiter.done) {
      waiter.done = true;
      this.#waiting.delete(id);
      waiter.resolve(decision);
    }
  }

  #executor(kind: string): Executor<unknown> | undefined {
    return Object.hasOwn(this.#executors, kind) ? this.#executors[kind] : undefined;
  }

  // ── plumbing ────────────────────────────────────────────────────────────────

  /**
   * Whether `bytes` is a certificate for a decision this node already finalized. Every
   * node receives each certificate after deciding by itself, and verifying one costs
   * 2q + 1 signature checks, so it is recognised first from its unverified content. A
   * match changes nothing, so trusting the content unverified costs nothing.
   */
  #knownCertificate(bytes: Uint8Array): boolean {
    let m;
    try {
      m = peekMessage(bytes, this.#maxBytes);
    } catch {
      return false; // decodeMessage reports it properly
    }
    return m.t === 'cert' && this.#core.recent.get(m.proposal.slot)?.id === m.proposal.id;
  }

  #remember(hash: string): void {
    if (!hash) return;
    this.#seen.add(hash);
    if (this.#seen.size > SEEN_HASHES) this.#seen.delete(this.#seen.values().next().value as string);
  }

  /**
   * Runs `fn`; the outermost call then settles own proposals, sends queued messages
   * and dispatches queued events. Effects are queued rather than performed inline so
   * a listener or a synchronous transport never re-enters half-updated state.
   */
  #run<T>(fn: () => T): T {
    this.#depth++;
    try {
      return fn();
    } finally {
      if (--this.#depth === 0) this.#flush();
    }
  }

  #flush(): void {
    this.#depth++;
    try {
      this.#advance();
    } finally {
      this.#depth--;
    }
    while (this.#out.length > 0 || this.#events.length > 0) {
      for (const b of this.#out.splice(0)) {
        try {
          this.#sendFn(b);
        } catch {
          // A failing transport must not corrupt consensus state; timer rounds re-send.
        }
      }
      const ev = this.#events.shift();
      if (ev) this.dispatchEvent(ev);
    }
  }
}
