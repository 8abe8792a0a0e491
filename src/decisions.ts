/**
 * What consensus decides in kpc (spec §5.2), as executors over the cluster state:
 *
 * - `model-spec` — the cluster's model: validated as a model spec, written to
 *   `cluster/model`.
 * - `model-ref` — the cluster's hosted GGUF model (src/node-models.ts): validated as a
 *   model reference, written to `cluster/hosted-model`; every node loads its share.
 * - `evict` — a node is out: written to `cluster/evicted/<nodeId>`; every node drops
 *   and refuses it.
 *
 * Each executor snapshots what it changes, so a failed execution is rolled back.
 */
import type { Executor } from './consensus/index.js';
import { isNodeId } from './crypto/index.js';
import { KpcError } from './errors.js';
import { checkModelSpec } from './infer/index.js';
import type { JsonValue } from './protocol/index.js';
import type { Entry, Replica } from './sync/index.js';
import { checkHostedModelDecision, HOSTED_MODEL_KEY, type HostedModelDecision } from './node-models.js';

/** Key of the cluster's agreed model spec. */
export const MODEL_KEY = 'cluster/model';
/** Key prefix of evicted nodes. */
export const EVICTED_PREFIX = 'cluster/evicted/';

/**
 * An executor writing one key under `prefix`. The snapshot is every entry under the
 * prefix (the executor cannot know the payload then), and restore puts them back.
 */
function keyExecutor<P>(
  replica: Replica,
  prefix: string,
  keyOf: (payload: P) => string,
  validate: (payload: unknown) => P,
  value: (payload: P) => JsonValue,
  after?: (payload: P) => void,
): Executor<P> {
  return {
    validate,
    snapshot: () => new Map(replica.entries(prefix).map((e) => [e.key, e] as [string, Entry])),
    async execute(payload) {
      await replica.put(keyOf(payload), value(payload));
      after?.(payload);
    },
    async restore(snap) {
      const before = snap as Map<string, Entry>;
      for (const e of replica.entries(prefix)) {
        const old = before.get(e.key);
        if (!old) await replica.delete(e.key);
        else if (old.ts.wall !== e.ts.wall || old.ts.counter !== e.ts.counter || old.writer !== e.writer) await replica.put(e.key, old.value as JsonValue);
      }
    },
  };
}

/**
 * The executors a PiNode registers. `onEvict` drops the evicted node's link;
 * `onModel` starts loading this node's share of an agreed hosted model.
 */
export function clusterExecutors(replica: Replica, onEvict: (nodeId: string) => void, onModel: (d: HostedModelDecision) => void = () => undefined): Record<string, Executor<any>> {
  return {
    'model-ref': keyExecutor<HostedModelDecision>(
      replica,
      HOSTED_MODEL_KEY,
      () => HOSTED_MODEL_KEY,
      checkHostedModelDecision,
      (d) => d as unknown as JsonValue,
      onModel,
    ),
    'model-spec': keyExecutor(
      replica,
      MODEL_KEY,
      () => MODEL_KEY,
      (payload) => {
        checkModelSpec(payload);
        return payload as JsonValue;
      },
      (payload) => payload,
    ),
    evict: keyExecutor<{ nodeId: string; reason?: string }>(
      replica,
      EVICTED_PREFIX,
      (p) => EVICTED_PREFIX + p.nodeId,
      (payload) => {
        const p = payload as { nodeId?: unknown; reason?: unknown };
        if (typeof p !== 'object' || p === null || !isNodeId(p.nodeId)) throw new KpcError('CONSENSUS_REJECTED', 'evict needs {nodeId}');
        if (p.reason !== undefined && (typeof p.reason !== 'string' || p.reason.length > 256)) throw new KpcError('CONSENSUS_REJECTED', 'evict reason must be a short string');
        return { nodeId: p.nodeId, ...(p.reason !== undefined ? { reason: p.reason } : {}) };
      },
      (p) => ({ reason: p.reason ?? '' }),
      (p) => onEvict(p.nodeId),
    ),
  };
}
