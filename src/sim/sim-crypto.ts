/**
 * Switches the process to the simulator's fast signature scheme ({@link ./sim-ed25519.ts}).
 *
 * It registers a module-resolution hook that hands `src/crypto/identity.ts` the
 * stand-in instead of `@noble/curves/ed25519.js`, so it must run **before** anything
 * imports `src/crypto/identity.ts` (the CLI and the sim tests call it first, then
 * import the simulator dynamically). Node only; nothing else in the process changes.
 * Envelope bytes, sizes, checks and error codes stay exactly as with Ed25519; only
 * the signature arithmetic is cheaper (~5 µs instead of ~0.5–1.2 ms).
 */
import { register } from 'node:module';

/** Which signature implementation `src/crypto/identity.ts` got. */
export type CryptoMode = 'sim' | 'ed25519';

let requested = false;

/** Installs the hook (idempotent). Call before the first import of the core. */
export function useSimCrypto(): void {
  if (requested) return;
  requested = true;
  const target = new URL('./sim-ed25519.ts', import.meta.url).href;
  const hook = `
    export async function resolve(specifier, context, next) {
      if (specifier === '@noble/curves/ed25519.js' && context.parentURL && context.parentURL.endsWith('/src/crypto/identity.ts')) {
        return next(${JSON.stringify(target)}, context);
      }
      return next(specifier, context);
    }`;
  register('data:text/javascript,' + encodeURIComponent(hook));
}

/** The mode actually in force (the stand-in marks the global object when it loads). */
export function cryptoMode(): CryptoMode {
  return (globalThis as { __kpcSimEd25519?: boolean }).__kpcSimEd25519 ? 'sim' : 'ed25519';
}
