/**
 * Rendezvous weights: every node that knows the same ids makes the same choice from
 * them, with no coordination (who answers a newcomer, who sits on the consensus
 * committee of a large cluster). A leaf: imports nothing.
 */
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

/** The `max` ids that weigh most with `seed` (all of them when there are no more), in id order. */
export function topK(seed: string, ids: readonly string[], max: number): string[] {
  if (ids.length <= max) return [...ids].sort();
  return ids
    .map((id) => [pairScore(seed, id), id] as const)
    .sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : 1))
    .slice(0, max)
    .map(([, id]) => id)
    .sort();
}
