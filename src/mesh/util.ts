/** Small helpers of the mesh. */

/** A bounded set of recently seen keys (oldest evicted first). */
export class SeenSet {
  private readonly keys = new Set<string>();
  constructor(private readonly capacity: number) {}

  /** Whether `key` is in the set. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Adds `key`; false when it was already there. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}

/**
 * A 32-bit FNV-1a weight of the pair (`a`, `b`): cheap and evenly spread, for
 * rendezvous choices that need agreement, not secrecy.
 */
export function pairScore(a: string, b: string): number {
  let h = 0x811c9dc5;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  };
  mix(a);
  mix('|'); // node ids are hex: '|' cannot occur in one, so (a, b) splits one way only
  mix(b);
  return h >>> 0;
}

/**
 * Whether `self` is among the `k` ids of `others` ∪ {`self`} that weigh most with `key`
 * (ties broken by id). Every node that knows the same ids reaches the same verdict.
 */
export function inTopK(key: string, self: string, others: Iterable<string>, k: number): boolean {
  const mine = pairScore(key, self);
  let above = 0;
  for (const id of others) {
    if (id === self || id === key) continue;
    const s = pairScore(key, id);
    if (s > mine || (s === mine && id < self)) {
      if (++above >= k) return false;
    }
  }
  return true;
}
