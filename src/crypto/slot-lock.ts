/**
 * One running node per identity: a slot is claimed with the Web Locks API for
 * as long as its node runs, so a second tab (or a second node of one page)
 * asking for the same slot gets the next free one — `slot`, `slot-2`, `slot-3` …
 * — instead of the same node id twice in one cluster.
 *
 * Where Web Locks do not exist (Node, the simulator) the slot is returned as is.
 */

/** A claimed identity slot; `release()` frees it for the next node. */
export interface SlotClaim {
  /** The slot actually claimed (the requested one, or a numbered variant). */
  readonly slot: string;
  /** Frees the slot; resolves once another claimant can take it. Idempotent. */
  release(): Promise<void>;
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, cb: (lock: unknown) => Promise<void>): Promise<unknown>;
}

const LOCK_PREFIX = 'kpc-identity:';

/** Tries to hold the lock named for `slot`; null when another holder has it. */
function tryClaim(locks: LockManagerLike, slot: string): Promise<SlotClaim | null> {
  return new Promise((resolve, reject) => {
    let letGo!: () => void;
    const held = new Promise<void>((r) => (letGo = r));
    // Settles once the lock is really released, which is after the callback returns.
    const request = locks.request(LOCK_PREFIX + slot, { ifAvailable: true }, async (lock) => {
      if (!lock) return resolve(null);
      resolve({
        slot,
        release: async () => {
          letGo();
          await request;
        },
      });
      await held; // the lock lasts until release()
    });
    request.catch(reject);
  });
}

/**
 * Claims `slot`, or the first free `slot-N` (N = 2 … maxVariants).
 * @throws Error when every variant is taken.
 */
export async function claimIdentitySlot(slot: string, maxVariants = 64): Promise<SlotClaim> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  if (!locks) return { slot, release: async () => undefined };
  for (let n = 1; n <= maxVariants; n++) {
    const claim = await tryClaim(locks, n === 1 ? slot : `${slot}-${n}`);
    if (claim) return claim;
  }
  throw new Error(`identity slot ${slot}: all ${maxVariants} variants are held by running nodes`);
}
