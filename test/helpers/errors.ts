/** Assertions on the typed errors every rejection in the core must be. */
import { KpcError, type KpcErrorCode } from '../../src/errors.js';

/** The code of the KpcError `fn` throws; throws (failing the test) if it throws anything else, or nothing. */
export function codeOf(fn: () => unknown): KpcErrorCode {
  const code = codeOrNone(fn);
  if (code === undefined) throw new Error('expected a KpcError, nothing was thrown');
  return code;
}

/** Like {@link codeOf}, but `undefined` when `fn` returns normally. */
export function codeOrNone(fn: () => unknown): KpcErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof KpcError) return err.code;
    throw new Error(`expected a KpcError, got ${String(err)}`);
  }
  return undefined;
}
