/**
 * Persisted node state across simulated crashes: each node id has a "disk" that
 * survives its crashes. A life opens a {@link MemoryStorage} holding what the disk
 * durably held; a crash keeps only what was durable at that instant (an append not
 * yet resolved is lost, as on a real power cut) and closes the old storage so the
 * dead life cannot write any more.
 */
import { MemoryStorage, type MemorySnapshot, type SyncStorage } from '../sync/index.js';

/** The disks of every node of a simulation. */
export class SimDisk {
  private readonly durable = new Map<string, MemorySnapshot>();
  private readonly live = new Map<string, MemoryStorage>();

  /** The storage of a new life of `nodeId` (what PiNode's `syncStorage` returns). */
  open(nodeId: string): SyncStorage {
    this.crash(nodeId);
    const snap = this.durable.get(nodeId);
    const s = snap ? MemoryStorage.fromSnapshot(snap) : new MemoryStorage();
    this.live.set(nodeId, s);
    return s;
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
}
