/** Byte-level edits for property tests of decoders: change, insert, delete, truncate, extend. */
import fc from 'fast-check';

/** An edit to a byte array. */
export const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

/** One generated edit. */
export type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

/** `bytes` with `edits` applied in order (positions wrap around the current length). */
export function mutate(bytes: Uint8Array, edits: readonly Mutation[]): Uint8Array {
  let a = Array.from(bytes);
  for (const e of edits) {
    const at = a.length === 0 ? 0 : ('at' in e ? e.at : 0) % a.length;
    if (e.kind === 'set' && a.length > 0) a[at] = e.value;
    else if (e.kind === 'insert') a.splice(at, 0, e.value);
    else if (e.kind === 'delete') a.splice(at, 1);
    else if (e.kind === 'truncate') a = a.slice(0, at);
    else if (e.kind === 'extend') a.push(...e.bytes);
  }
  return new Uint8Array(a);
}
