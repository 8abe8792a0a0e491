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
