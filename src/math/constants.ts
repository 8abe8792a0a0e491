/**
 * The constants of spec §6.1, written out as the exact decimal literals the spec gives.
 *
 * Each literal is the double nearest to the mathematical constant, so the values are
 * identical on every engine (number literals are parsed with correct rounding). We do
 * not use `Math.PI` / `Math.E`: they happen to be the same doubles, but spelling the
 * spec's digits keeps the definition self-contained and greppable.
 */

/** π, spec §6.1 (`3.141592653589793`). */
export const PI = 3.141592653589793;

/** Euler's number e, spec §6.1 (`2.718281828459045`). */
export const E = 2.718281828459045;

/** The golden ratio φ, spec §6.1 (`1.618033988749895`). */
export const PHI = 1.618033988749895;

/** τ = 2π, spec §6.1 (`6.283185307179586`). */
export const TAU = 6.283185307179586;

/** The spec's constants as one frozen record, keyed as in spec §6.1. */
export const CONSTANTS = Object.freeze({ π: PI, e: E, φ: PHI, τ: TAU });
