/**
 * Persisted node state across simulated crashes: each node id has a "disk" that
 * survives its crashes. A life opens a {@link MemoryStorage} holding what the disk
 * durably held; a crash keeps only what was durable at that instant (an append not
 * yet resolved is lost, as on a real power cut) and closes the old storage so the
 * dead life cannot write any more.
 *
 * The disk also counts what each node stored (own deltas, remote deltas applied) and
 * when it last stored one: the replica appends every delta before merging it, so an
 * append is exactly "a delta was applied".
 */
import { decodeStoredDelta, MemoryStorage, type Delta, type MemorySnapshot, type SyncStorage } from '../sync/index.js';

/** What one node's disk has seen, over all its lives. */
export interface DiskStats {
  /** Deltas this node authored and stored. */
  own: number;
  /** Remote deltas stored (= applied by sync). */
  remote: number;
  /** Virtual time of the last append, or null. */
  lastAt: number | null;
}

/** The disks of every node of a simulation. */
export class SimDisk {
  private readonly durable = new Map<string, MemorySnapshot>();
  private readonly live = new Map<string, MemoryStorage>();
  /** Per node id: appends over all lives. */
  readonly stats = new Map<string, DiskStats>();

  /** @param clock virtual time, for {@link DiskStats.lastAt}. */
  constructor(private readonly clock: () => number = () => 0) {}

  /** The storage of a new life of `nodeId` (what PiNode's `syncStorage` returns). */
  open(nodeId: string): SyncStorage {
    this.crash(nodeId);
    const snap = this.durable.get(nodeId);
    const s = snap ? MemoryStorage.fromSnapshot(snap) : new MemoryStorage();
    this.live.set(nodeId, s);
    let st = this.stats.get(nodeId);
    if (!st) this.stats.set(nodeId, (st = { own: 0, remote: 0, lastAt: null }));
    const stats = st;
    return {
      load: () => s.load(),
      clear: () => s.clear(),
      close: () => s.close(),
      append: (d: Delta) =>
        s.append(d).then(() => {
          if (d.author === nodeId) stats.own++;
          else stats.remote++;
          stats.lastAt = this.clock();
        }),
    };
  }

  /** The node crashed: keep what is durable now, close the live storage. */
  crash(nodeId: string): void {
    const s = this.live.get(nodeId);
    if (!s) return;
    this.durable.set(nodeId, s.snapshot());
    s.close();
    this.live.delete(nodeId);
  }

  /** The storage the current life of `nodeId` uses, if it runs. */
  storage(nodeId: string): MemoryStorage | undefined {
    return this.live.get(nodeId);
  }

  /** What a crash of `nodeId` right now would keep. */
  snapshot(nodeId: string): MemorySnapshot {
    return this.live.get(nodeId)?.snapshot() ?? this.durable.get(nodeId) ?? [];
  }

  /** Whether `nodeId` ever opened a disk here. */
  has(nodeId: string): boolean {
    return this.stats.has(nodeId);
  }

  /** The deltas `nodeId` authored that its disk holds now (what it really signed and kept). */
  ownDeltas(nodeId: string): Delta[] {
    return this.snapshot(nodeId)
      .map((b) => decodeStoredDelta(b))
      .filter((d) => d.author === nodeId);
  }
}
