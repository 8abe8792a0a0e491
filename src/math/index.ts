/**
 * The deterministic math kernel (spec §6): constants, engine-independent sin / cos /
 * exp / tanh, the regeneration function and procedural weight generation.
 *
 * Everything that produces weight bits uses only IEEE-754 basic operations, so every
 * JavaScript engine produces the same bytes for the same {@link LayerSpec}. See
 * docs/math.md for the definition, the accuracy and the speed.
 * @packageDocumentation
 */

export {
  /** π, spec §6.1. */
  PI,
  /** e, spec §6.1. */
  E,
  /** φ, spec §6.1. */
  PHI,
  /** τ = 2π, spec §6.1. */
  TAU,
  /** The four spec constants as one frozen record keyed π, e, φ, τ. */
  CONSTANTS,
} from './constants.js';

export {
  /** Deterministic sine; full accuracy for |a| ≤ {@link TRIG_EXACT_LIMIT}. */
  sin as exactSin,
  /** Deterministic cosine; full accuracy for |a| ≤ {@link TRIG_EXACT_LIMIT}. */
  cos as exactCos,
  /** Deterministic e^x on the whole double range (~1 ulp). */
  exp as exactExp,
  /** Deterministic tanh for every double (a few ulps). */
  tanh as exactTanh,
  /** 2^20·π/2: the largest |argument| for which exactSin / exactCos keep full accuracy. */
  TRIG_EXACT_LIMIT,
} from './exact.js';

export {
  /** MurmurHash3_x86_32 of `[layer, tensor, row, segment]` with `seed`: the position hash of spec §6.3. */
  hashPosition,
} from './hash.js';

export {
  /** Which tensor to generate, and its shape. */
  type LayerSpec,
  /** A validated LayerSpec with its defaults filled in (what checkLayerSpec returns). */
  type CheckedSpec,
  /** Columns per segment (384): one hashed origin of x per segment. */
  SEGMENT_LENGTH,
  /** Step of x between adjacent columns of a segment (1/64). */
  X_STEP,
  /** `[π, e, φ]`: column j uses `ROTATING_CONSTANTS[j % 3]` as c. */
  ROTATING_CONSTANTS,
  /** Largest layer, in elements (2^28). */
  MAX_LAYER_ELEMENTS,
  /** f(x, c) = sin(x·c·π)·cos(x·e)·(1 + φ·tanh(x)) (spec §6.2), bit-exact. */
  regenerationFunction,
  /** f(x, c) with `Math.*` — benchmarks only, not bit-exact across engines. */
  regenerationFunctionBuiltin,
  /** The origin x₀ of a segment from its position hash. */
  segmentOrigin,
  /** The x of one weight: segment origin + offset·X_STEP. */
  weightX,
  /** Validates a LayerSpec (throws KpcError `MATH_INVALID_SHAPE`); returns it with defaults filled in. */
  checkLayerSpec,
  /** Generates a layer with the fast, bit-defining kernel (`out` optional). */
  generateLayer,
  /** Generates a layer element by element with the exact functions (slow; for checking). */
  generateLayerReference,
  /** Generates a layer with `Math.*` (benchmark baseline; not bit-exact across engines). */
  generateLayerBuiltin,
} from './regen.js';
