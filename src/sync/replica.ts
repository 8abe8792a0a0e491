/**
 * A replica of the cluster's last-write-wins map: local writes, remote deltas,
 * persistence and version vectors. No networking: the gossip layer listens for
 * `delta` events and calls {@link Replica.applyRemote} / {@link Replica.deltasSince}.
 *
 * Every state change goes through one serial queue, in this order: stage the merge
 * (pure), append the delta to storage (await), then commit to memory in one
 * synchronous step and dispatch events. A failure before the commit leaves the
 * replica exactly as it was; a crash after the append is healed on reopen, which
 * replays the stored log. So a local write is acknowledged (its `put` resolves)
 * only once it is durable, and what a replica serves to peers is always on disk.
 *
 * Events (all `CustomEvent`): `change` ({@link ChangeDetail}) once per key whose
 * visible value changed, after each applied delta; `delta` ({@link Delta}) for each
 * new local delta, once durable: the gossip layer broadcasts these.
 */
import type { Identity } from '../crypto/identity.js';
import { KpcError } from '../errors.js';
import type { JsonValue } from '../protocol/canonical-json.js';
import {
  DEFAULT_MAX_DELTA_BYTES,
  DELTA_OVERHEAD_BYTES,
  encodeDelta,
  sameDelta,
  signPreparedDelta,
  verifiedDelta,
} from './delta.js';
import { GapBuffer } from './gap-buffer.js';
import { HybridClock, compareHlc, type HlcTimestamp } from './hlc.js';
import { stageWrites, toEntry } from './merge.js';
import type { SyncStorage } from './storage.js';
import type { Delta, Entry, EntryKind, EntryWrite, VersionVector } from './types.js';
import { prepareWrite, type PreparedWrite } from './write.js';
import {
  DEFAULT_MAX_BUFFERED,
  DEFAULT_MAX_BUFFERED_BYTES,
  type ApplyResult,
  type ChangeDetail,
  type ReplicaEventMap,
  type ReplicaOptions,
} from './replica-types.js';

export type { ApplyResult, ChangeDetail, ReplicaEventMap, ReplicaOptions } from './replica-types.js';
export { DEFAULT_MAX_BUFFERED, DEFAULT_MAX_BUFFERED_BYTES } from './replica-types.js';

interface PendingWrite {
  readonly prepared: PreparedWrite;
  readonly resolve: (entry: Entry) => void;
  readonly reject: (err: unknown) => void;
}

function maxTs(writes: readonly EntryWrite[]): HlcTimestamp {
  let top = writes[0].ts;
  for (const w of writes) if (compareHlc(w.ts, top) > 0) top = w.ts;
  return top;
}

function closedError(): KpcError {
  return new KpcError('SYNC_CLOSED', 'replica is closed');
}

function equivocation(d: Delta): KpcError {
  return new KpcError('SYNC_EQUIVOCATION', `author ${d.author} signed two different deltas with seq ${d.seq}`, {
    author: d.author,
    seq: d.seq,
  });
}

function checkOption(ok: boolean, name: string, value: unknown): void {
  if (!ok) throw new KpcError('CONFIG_INVALID', `invalid replica option ${name}`, { [name]: value });
}

// Typed overloads of the EventTarget methods (declaration merging with the class).
export interface Replica {
  addEventListener<K extends keyof ReplicaEventMap>(
    type: K,
    listener: (ev: ReplicaEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ReplicaEventMap>(
    type: K,
    listener: (ev: ReplicaEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/**
 * A persistent, signed last-write-wins map (spec §5.1).
 *
 * @example
 * const replica = await Replica.open({ identity, storage: new IndexedDbStorage({ name: `${cluster}/${identity.nodeId}` }) });
 * replica.addEventListener('delta', (ev) => gossip.broadcast(encodeDelta(ev.detail)));
 * await replica.put('model/name', 'pi-net');   // resolves once durable
 * await replica.applyRemote(decodeDelta(bytesFromPeer));
 */
export class Replica extends EventTarget {
  /** This node's id: the writer of local entries. */
  readonly nodeId: string;
  readonly #identity: Identity;
  readonly #storage: SyncStorage;
  readonly #clock: HybridClock;
  readonly #batchMs: number;
  readonly #maxDeltaBytes: number;
  /** Key → winning entry (tombstones included). */
  readonly #entries = new Map<string, Entry>();
  /** Author → its deltas 1..n (index seq − 1): the full stored log. */
  readonly #log = new Map<string, Delta[]>();
  /** Remote deltas received ahead of a gap. */
  readonly #buffer: GapBuffer;
  #queue: Promise<unknown> = Promise.resolve();
  #pending: PendingWrite[] = [];
  #flushScheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(opts: ReplicaOptions) {
    super();
    this.#identity = opts.identity;
    this.nodeId = opts.identity.nodeId;
    this.#storage = opts.storage;
    this.#clock = new HybridClock(opts.now ?? (() => Date.now()), { maxSkewMs: opts.maxSkewMs });
    this.#batchMs = opts.batchMs ?? 0;
    const maxBuffered = opts.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    const maxBufferedBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#buffer = new GapBuffer(maxBuffered, maxBufferedBytes);
    this.#maxDeltaBytes = opts.maxDeltaBytes ?? DEFAULT_MAX_DELTA_BYTES;
    checkOption(this.#batchMs >= 0 && this.#batchMs < Infinity, 'batchMs', opts.batchMs);
    checkOption(Number.isInteger(maxBuffered) && maxBuffered >= 0, 'maxBuffered', opts.maxBuffered);
    checkOption(maxBufferedBytes >= 0, 'maxBufferedBytes', opts.maxBufferedBytes);
    checkOption(this.#maxDeltaBytes > DELTA_OVERHEAD_BYTES, 'maxDeltaBytes', opts.maxDeltaBytes);
  }

  /**
   * Opens a replica on `storage`, replaying its log (stored deltas are trusted:
   * their signatures were checked when they arrived).
   * @throws KpcError `CONFIG_INVALID`, or whatever `storage.load()` throws.
   */
  static async open(opts: ReplicaOptions): Promise<Replica> {
    checkOption(typeof opts?.identity?.nodeId === 'string', 'identity', undefined);
    checkOption(typeof opts.storage?.load === 'function', 'storage', undefined);
    const replica = new Replica(opts);
    replica.#replay(await opts.storage.load());
    return replica;
  }

  #replay(stored: Delta[]): void {
    const byAuthor = new Map<string, Map<number, Delta>>();
    for (const d of stored) {
      let m = byAuthor.get(d.author);
      if (!m) byAuthor.set(d.author, (m = new Map()));
      if (!m.has(d.seq)) m.set(d.seq, d);
    }
    for (const [author, m] of byAuthor) {
      // Appends are serial and contiguous, so a gap means a damaged store: keep the prefix.
      const log: Delta[] = [];
      for (let d = m.get(1); d; d = m.get(log.length + 1)) {
        log.push(d);
        this.#clock.advance(maxTs(d.writes));
        for (const [key, entry] of stageWrites(this.#entries, d.writes, author)) this.#entries.set(key, entry);
      }
      if (log.length > 0) this.#log.set(author, log);
    }
  }

  /** The live entry of `key`, or `undefined` if absent or deleted. */
  get(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    return e && e.value !== null ? e : undefined;
  }

  /** Live entries whose key starts with `prefix` (default all), sorted by key (UTF-16 order). */
  entries(prefix = ''): Entry[] {
    const out: Entry[] = [];
    for (const e of this.#entries.values()) if (e.value !== null && e.key.startsWith(prefix)) out.push(e);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Author → highest seq with every delta 1..seq applied (buffered deltas not counted). */
  versionVector(): VersionVector {
    const vv: Record<string, number> = {};
    for (const author of [...this.#log.keys()].sort()) vv[author] = this.#log.get(author)!.length;
    return Object.freeze(vv);
  }

  /** Out-of-order remote deltas currently held in memory. */
  get bufferedCount(): number {
    return this.#buffer.count;
  }

  /**
   * Whether delta `seq` of `author` is already applied here (buffered ones do not
   * count). With {@link peekDelta}, lets the gossip layer skip duplicates unverified.
   */
  hasDelta(author: string, seq: number): boolean {
    return seq >= 1 && seq <= (this.#log.get(author)?.length ?? 0);
  }

  /**
   * Every stored delta `remote` lacks (authors in id order, each in seq order), at
   * most `limit` of them. Deltas are served as received: relayed deltas keep their
   * author's signature.
   * @throws KpcError `SYNC_BAD_VECTOR` if `remote` is not author → safe integer ≥ 0.
   */
  deltasSince(remote: VersionVector, limit = Infinity): Delta[] {
    if (typeof remote !== 'object' || remote === null || Array.isArray(remote)) {
      throw new KpcError('SYNC_BAD_VECTOR', 'version vector must be an object');
    }
    for (const [author, seq] of Object.entries(remote)) {
      if (!Number.isSafeInteger(seq) || seq < 0) throw new KpcError('SYNC_BAD_VECTOR', 'bad version vector entry', { author });
    }
    if (typeof limit !== 'number' || !(limit >= 0)) throw new KpcError('SYNC_BAD_VECTOR', 'limit must be ≥ 0');
    const out: Delta[] = [];
    for (const author of [...this.#log.keys()].sort()) {
      if (out.length >= limit) break;
      const have = Object.hasOwn(remote, author) ? remote[author] : 0;
      const log = this.#log.get(author)!;
      for (let i = have; i < log.length && out.length < limit; i++) out.push(log[i]);
    }
    return out;
  }

  /**
   * Writes `value` under `key`. `kind` defaults to `'bytes'` for a Uint8Array, else
   * `'json'`. Resolves, with the written entry, only once the delta holding it is
   * durable; until then `get` still returns the previous value. The entry may
   * already be superseded by a concurrent later write when it resolves.
   * @throws KpcError (as a rejection) `SYNC_BAD_WRITE` (bad key or value; `null`:
   * use delete), `SYNC_UNKNOWN_KIND`, `PROTO_OVERSIZE` (one write above
   * `maxDeltaBytes`), `SYNC_STORAGE_FAILED`, `SYNC_CLOSED`.
   */
  put(key: string, value: JsonValue | Uint8Array, opts: { kind?: EntryKind } = {}): Promise<Entry> {
    try {
      if (value === null || value === undefined) throw new KpcError('SYNC_BAD_WRITE', 'value is null or undefined; use delete()');
      return this.#write(key, opts.kind ?? (value instanceof Uint8Array ? 'bytes' : 'json'), value);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Deletes `key` by writing a tombstone (even if the key is unknown here, so it
   * also beats older writes still on their way). Resolves once durable.
   * @throws KpcError (as a rejection) as {@link put}.
   */
  async delete(key: string): Promise<void> {
    await this.#write(key, this.#entries.get(key)?.kind ?? 'json', null);
  }

  #write(key: string, kind: EntryKind, value: JsonValue | Uint8Array | null): Promise<Entry> {
    if (this.#closed) throw closedError();
    const prepared = prepareWrite({ key, kind, value, ts: this.#clock.tick() }, 'SYNC_BAD_WRITE');
    if (prepared.size + DELTA_OVERHEAD_BYTES > this.#maxDeltaBytes) {
      throw new KpcError('PROTO_OVERSIZE', `write of ${prepared.size} bytes does not fit in a delta`, { key });
    }
    return new Promise<Entry>((resolve, reject) => {
      this.#pending.push({ prepared, resolve, reject });
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const go = (): void => {
      this.#timer = undefined;
      this.#enqueue(() => this.#flush()).catch(() => undefined);
    };
    if (this.#batchMs > 0) this.#timer = setTimeout(go, this.#batchMs);
    else queueMicrotask(go);
  }

  /** Signs and stores pending local writes: one delta per `maxDeltaBytes`-sized group. */
  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    const groups: PendingWrite[][] = [];
    let size = Infinity;
    for (const p of batch) {
      if (size + p.prepared.size > this.#maxDeltaBytes) {
        groups.push([]);
        size = DELTA_OVERHEAD_BYTES;
      }
      groups[groups.length - 1].push(p);
      size += p.prepared.size;
    }
    for (const group of groups) {
      let delta: Delta;
      try {
        if (this.#closed) throw closedError();
        const seq = (this.#log.get(this.nodeId)?.length ?? 0) + 1;
        delta = signPreparedDelta(this.#identity, seq, group.map((p) => p.prepared), this.#maxDeltaBytes);
        await this.#applyInOrder(delta, true);
      } catch (err) {
        for (const p of group) p.reject(err);
        continue;
      }
      for (const p of group) p.resolve(toEntry(p.prepared.write, this.nodeId));
      if (!this.#closed) this.dispatchEvent(new CustomEvent<Delta>('delta', { detail: delta }));
      await this.#drain(this.nodeId);
    }
  }

  /**
   * Merges a remote delta (from any peer; verified against its author).
   * - `duplicate`: already held (seq ≤ versionVector()[author]);
   * - `buffered`: seq leaves a gap; held in memory and applied once the gap fills;
   * - `applied`: stored, then merged (plus any buffered successors it unblocked).
   * On a throw nothing is applied.
   * @throws KpcError `PROTO_BAD_SIGNATURE` and other decode codes (for objects not
   * from {@link decodeDelta}), `SYNC_CLOCK_SKEW`, `SYNC_BUFFER_FULL`,
   * `SYNC_EQUIVOCATION` (the author signed another delta with this seq),
   * `SYNC_STORAGE_FAILED`, `SYNC_CLOSED`.
   */
  async applyRemote(delta: Delta): Promise<ApplyResult> {
    if (this.#closed) throw closedError();
    const d = verifiedDelta(delta, this.#maxDeltaBytes);
    return this.#enqueue(() => this.#receive(d));
  }

  async #receive(d: Delta): Promise<ApplyResult> {
    const log = this.#log.get(d.author);
    const have = log?.length ?? 0;
    if (d.seq <= have) {
      if (!sameDelta(log![d.seq - 1], d)) throw equivocation(d);
      return 'duplicate';
    }
    if (d.seq > have + 1) {
      const held = this.#buffer.get(d.author, d.seq);
      if (held) {
        if (!sameDelta(held, d)) throw equivocation(d);
        return 'buffered';
      }
      this.#clock.check(maxTs(d.writes));
      this.#buffer.add(d, encodeDelta(d).length);
      return 'buffered';
    }
    await this.#applyInOrder(d, false);
    await this.#drain(d.author);
    return 'applied';
  }

  /** Applies buffered deltas of `author` that are now next in line. Failures drop them (peers resend). */
  async #drain(author: string): Promise<void> {
    while (!this.#closed) {
      const next = this.#buffer.take(author, (this.#log.get(author)?.length ?? 0) + 1);
      if (!next) break;
      try {
        await this.#applyInOrder(next, false);
      } catch {
        break;
      }
    }
  }

  /** Stage, persist, then commit `d` (the next delta of its author) atomically. */
  async #applyInOrder(d: Delta, local: boolean): Promise<void> {
    const top = maxTs(d.writes);
    if (!local) this.#clock.check(top);
    const staged = stageWrites(this.#entries, d.writes, d.author);
    try {
      await this.#storage.append(d);
    } catch (err) {
      if (err instanceof KpcError) throw err;
      throw new KpcError('SYNC_STORAGE_FAILED', `storage append failed: ${String(err)}`, { cause: err });
    }
    // Commit: plain assignments from here on, nothing can throw.
    this.#clock.advance(top);
    const log = this.#log.get(d.author);
    if (log) log.push(d);
    else this.#log.set(d.author, [d]);
    const changes: ChangeDetail[] = [];
    for (const [key, entry] of staged) {
      const before = this.get(key);
      this.#entries.set(key, entry);
      const after = entry.value !== null ? entry : undefined;
      if (before || after) changes.push(Object.freeze({ key, entry: after, local }));
    }
    if (this.#closed) return;
    for (const detail of changes) this.dispatchEvent(new CustomEvent<ChangeDetail>('change', { detail }));
  }

  /** Runs `task` after every earlier one (the replica's single writer). */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw closedError();
      return task();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops the replica: unflushed writes reject with `SYNC_CLOSED`, later calls
   * fail, and the storage is closed. A write already being stored may still land
   * on disk (and reappear on reopen) even though its `put` rejects.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const p of this.#pending.splice(0)) p.reject(closedError());
    this.#storage.close();
  }
}
