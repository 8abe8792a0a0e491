/**
 * The recovery ladder (spec §7): `reconnectPeers` → `resyncState` → `resetMathEngine`
 * → `hardReset`, in that order. Each rung is bounded in time; after each, the node's
 * health is checked, and the ladder climbs to the next rung only when the node is
 * still unhealthy. Every attempt and its result is a `recovery` event.
 */
import { KpcError } from './errors.js';
import { sleep, type Runtime } from './runtime.js';

/** The four strategies of spec §7, in order. */
export const RECOVERY_STRATEGIES = ['reconnectPeers', 'resyncState', 'resetMathEngine', 'hardReset'] as const;

/** One of spec §7's strategies. */
export type RecoveryStrategy = (typeof RECOVERY_STRATEGIES)[number];

/** Detail of a `recovery` event. */
export interface RecoveryEvent {
  readonly strategy: RecoveryStrategy;
  /** `start` when the rung begins; `ok` / `failed` / `timeout` when it ends. */
  readonly phase: 'start' | 'ok' | 'failed' | 'timeout';
  /** Whether the node was healthy right after this rung (end events only). */
  readonly healthy?: boolean;
  readonly at: number;
  readonly detail?: string;
}

/** What a rung does, provided by the node. Resolves true when the rung achieved its own aim. */
export type RecoveryActions = Record<RecoveryStrategy, () => Promise<boolean>>;

/** Options of {@link runRecoveryLadder}. */
export interface RecoveryOptions {
  runtime: Runtime;
  actions: RecoveryActions;
  /** Whether the node is back to health (links, state, math). */
  healthy: () => Promise<boolean> | boolean;
  /** Bound of each rung, ms. */
  timeouts?: Partial<Record<RecoveryStrategy, number>>;
  /** Receives every {@link RecoveryEvent}. */
  emit: (e: RecoveryEvent) => void;
  /** Aborts between rungs (the node is stopping). */
  aborted: () => boolean;
}

/** Default bound of each rung, ms. */
export const DEFAULT_RECOVERY_TIMEOUTS: Readonly<Record<RecoveryStrategy, number>> = Object.freeze({
  reconnectPeers: 6_000,
  resyncState: 6_000,
  resetMathEngine: 5_000,
  hardReset: 15_000,
});

/** Runs the ladder; resolves with the rung that restored health, or null when none did. */
export async function runRecoveryLadder(opts: RecoveryOptions): Promise<RecoveryStrategy | null> {
  const rt = opts.runtime;
  for (const strategy of RECOVERY_STRATEGIES) {
    if (opts.aborted()) return null;
    opts.emit({ strategy, phase: 'start', at: rt.now() });
    const bound = opts.timeouts?.[strategy] ?? DEFAULT_RECOVERY_TIMEOUTS[strategy];
    let phase: RecoveryEvent['phase'];
    let detail: string | undefined;
    try {
      const ok = await withTimeout(rt, opts.actions[strategy](), bound);
      phase = ok ? 'ok' : 'failed';
    } catch (err) {
      phase = err instanceof KpcError && err.code === 'RECOVERY_TIMEOUT' ? 'timeout' : 'failed';
      detail = err instanceof Error ? err.message : String(err);
    }
    if (opts.aborted()) return null;
    const healthy = await opts.healthy();
    opts.emit({ strategy, phase, healthy, at: rt.now(), detail });
    if (healthy) return strategy;
  }
  return null;
}

function withTimeout<T>(rt: Runtime, p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = rt.setTimeout(() => reject(new KpcError('RECOVERY_TIMEOUT', `recovery step took over ${ms} ms`)), ms);
    p.then(
      (v) => {
        rt.clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        rt.clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** SHA-256 of `generateLayer({seed: 0x6b7063, layer: 0, rows: 8, cols: 64})`: the math engine's self-test. */
export const MATH_PROBE = Object.freeze({
  spec: Object.freeze({ seed: 0x6b7063, layer: 0, rows: 8, cols: 64 }),
  sha256: '81f941694a2be634305d09bf2bb4eb225cf12ea7e31ddd6a331400c965ef3c6e',
});

/** What the rungs act on: the node's current network, and how to rebuild parts of it. */
export interface RecoveryHost {
  readonly runtime: Runtime;
  /** The live network, or null while stopped or being rebuilt. */
  network(): { mesh: import('./mesh/mesh.js').Mesh; gossip: import('./gossip/sync-gossip.js').SyncGossip } | null;
  /** How long a member may stay silent during `reconnectPeers` before it is counted gone. */
  readonly probeMs: number;
  /** Clears the weight cache and restarts the regeneration Worker; resolves with the probe layer's SHA-256 hex. */
  resetMath(): Promise<string>;
  /** Drops the network (connections, volatile state) and builds a new one; false when there is nothing to rebuild. */
  rebuildNetwork(): Promise<boolean>;
}

/** The four rungs of spec §7 over a node. */
export function recoveryActions(host: RecoveryHost): RecoveryActions {
  const rt = host.runtime;
  const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
    const t0 = rt.now();
    while (!cond()) {
      if (rt.now() - t0 > ms || !host.network()) return false;
      await sleep(rt, 50);
    }
    return true;
  };
  const linked = () => {
    const mesh = host.network()?.mesh;
    return !!mesh && mesh.peers.length >= mesh.requiredPeers;
  };
  return {
    reconnectPeers: async () => {
      const mesh = host.network()?.mesh;
      if (!mesh) return false;
      const since = rt.now();
      mesh.reconnect();
      // Unlinked members that do not answer the announce within the probe are gone: the
      // minimum shrinks. A live one forgotten by mistake comes back with its next announce.
      if (await waitFor(linked, host.probeMs)) return true;
      // Announces already in flight when the probe began (a crashed node's last words) do not count.
      mesh.forgetSilentMembers(since + Math.min(300, host.probeMs / 4));
      mesh.reconnect();
      return waitFor(linked, 4_000);
    },
    resyncState: async () => {
      const net = host.network();
      if (!net) return false;
      net.gossip.resync();
      return waitFor(() => {
        const n = host.network();
        return !!n && (n.mesh.peers.length === 0 || n.gossip.caughtUp);
      }, 5_000);
    },
    resetMathEngine: async () => (await host.resetMath()) === MATH_PROBE.sha256,
    hardReset: async () => {
      if (!(await host.rebuildNetwork())) return false;
      return waitFor(() => (host.network()?.mesh.signalingConnected ?? 0) > 0 && linked(), 10_000);
    },
  };
}
