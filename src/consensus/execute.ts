/**
 * Applying one committed decision with the spec's automatic rollback (§5.2).
 */
import type { DecisionStatus, Executor } from './types.js';

/** Outcome of {@link runExecutor}. */
export interface ExecutionOutcome {
  readonly status: Exclude<DecisionStatus, 'unsupported'>;
  /** What `validate`, `snapshot`, `execute` or `restore` threw. */
  readonly error?: unknown;
}

/**
 * validate → snapshot → execute; if `execute` throws, restore the snapshot.
 *
 * `validate` runs again here, although voters ran it already, because a node may
 * learn a decision from a certificate without having voted, and an executor must
 * never see a payload it did not check. Nothing has changed yet when `validate` or
 * `snapshot` throws, so those count as rolled back without calling `restore`.
 * Never throws.
 */
export async function runExecutor<P>(executor: Executor<P>, payload: unknown): Promise<ExecutionOutcome> {
  let typed: P;
  let snapshot: unknown;
  try {
    typed = executor.validate(payload);
    snapshot = await executor.snapshot();
  } catch (error) {
    return { status: 'rolled-back', error };
  }
  try {
    await executor.execute(typed);
    return { status: 'executed' };
  } catch (error) {
    try {
      await executor.restore(snapshot);
      return { status: 'rolled-back', error };
    } catch {
      return { status: 'failed', error };
    }
  }
}
