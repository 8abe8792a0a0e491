/**
 * The model spec: a ~0.2 KB JSON document that *is* the model. Every weight is
 * regenerated from it (weights.ts); nothing else is downloaded.
 *
 * Version 1 has one mode, `'procedural'`: each tensor is the π-kernel's output for
 * (seed, layer, tensor index, shape). The network is **untrained**: its output is
 * deterministic, not meaningful language (docs/inference.md).
 *
 * Room for the later `'seed-compressed'` mode (trained weights stored as per-block
 * kernel seeds plus a few quantized coefficients, the SeedLM idea) is kept in two
 * places and nowhere else: `mode` here, and `tensorSource()` in weights.ts, which turns
 * (spec, tensor) into a source description. A seed-compressed spec will add a field
 * naming its payload (size and SHA-256 of the seeds/coefficients blob), which the
 * spec id then covers; the forward pass only ever sees float32 tensors and does not
 * change. Version 1 rejects every other mode with `INFER_BAD_SPEC` (field `mode`).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../crypto/bytes.js';
import { KpcError } from '../errors.js';
import { MAX_LAYER_ELEMENTS } from '../math/index.js';
import { canonicalJsonBytes } from '../protocol/canonical-json.js';

/** Value of {@link ModelSpec.format}. */
export const MODEL_FORMAT = 'kpc-model';
/** The only {@link ModelSpec.version} this code reads. */
export const MODEL_VERSION = 1;
/** Vocabulary of the byte-level tokenizer: 256 bytes + BOS, EOS, PAD. */
export const BYTE_VOCAB = 259;

/** A decoder-only Llama-style transformer (RMSNorm, rotary positions, SwiGLU, multi-head attention with a KV cache). */
export interface ModelSpec {
  /** Always `'kpc-model'`. */
  format: 'kpc-model';
  /** Always 1. */
  version: 1;
  /** Where weights come from; v1 knows only `'procedural'` (untrained, from the π-kernel). */
  mode: 'procedural';
  /** Always `'llama'`. */
  architecture: 'llama';
  /** Width of the residual stream. Must be a multiple of `heads` with an even head size. */
  dim: number;
  /** Number of transformer blocks. */
  layers: number;
  /** Attention (query) heads. */
  heads: number;
  /** Key/value heads (grouped-query attention); divides `heads`. Defaults to `heads`. */
  kvHeads?: number;
  /** Hidden width of the SwiGLU feed-forward. */
  ffnDim: number;
  /** Vocabulary size; the byte-level tokenizer needs exactly {@link BYTE_VOCAB} (259). */
  vocab: number;
  /** Positions the KV cache holds (prompt + generated tokens, BOS included). */
  contextLength: number;
  /** Base θ of the rotary frequencies θ^(−2i/headDim). */
  ropeTheta: number;
  /** ε of RMSNorm. */
  normEps: number;
  /** The uint32 seed every tensor is regenerated from. */
  seed: number;
}

/** A validated spec with defaults filled in (`kvHeads` present) and derived sizes. */
export interface CheckedModelSpec extends Required<ModelSpec> {
  /** `dim / heads`. */
  readonly headDim: number;
}

const FIELDS = [
  'format', 'version', 'mode', 'architecture', 'dim', 'layers', 'heads', 'kvHeads',
  'ffnDim', 'vocab', 'contextLength', 'ropeTheta', 'normEps', 'seed',
] as const;

/** Upper bounds that keep every tensor within the kernel's limit and every index a uint32. */
const LIMITS = { dim: 16384, layers: 1024, heads: 1024, ffnDim: 65536, contextLength: 65536 } as const;

function bad(field: string, value: unknown, why: string): KpcError {
  return new KpcError('INFER_BAD_SPEC', `ModelSpec.${field} ${why}, got ${JSON.stringify(value) ?? String(value)}`, { field, value });
}

function int(s: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = s[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(field, v, `must be an integer in [${min}, ${max}]`);
  return v;
}

function literal<T>(s: Record<string, unknown>, field: string, expected: T, why?: string): T {
  if (s[field] !== expected) throw bad(field, s[field], why ?? `must be ${JSON.stringify(expected)}`);
  return expected;
}

/**
 * Validates a model spec and fills in defaults. Unknown fields are rejected too: the
 * spec id hashes the document, so a field this version ignores would give two ids to
 * one model (or one id to two models, once a later version reads it).
 * @throws KpcError `INFER_BAD_SPEC` whose `detail.field` names the first offending field
 */
export function checkModelSpec(spec: unknown): CheckedModelSpec {
  if (CHECKED.has(spec as object)) return spec as CheckedModelSpec;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw bad('(root)', spec, 'must be a JSON object');
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw bad(key, s[key], 'is not a field of version 1');
  }
  literal(s, 'format', MODEL_FORMAT);
  literal(s, 'version', MODEL_VERSION);
  literal(s, 'mode', 'procedural', s.mode === 'seed-compressed' ? 'is "seed-compressed", which is reserved and not implemented yet' : 'must be "procedural"');
  literal(s, 'architecture', 'llama');
  const dim = int(s, 'dim', 2, LIMITS.dim);
  const layers = int(s, 'layers', 1, LIMITS.layers);
  const heads = int(s, 'heads', 1, LIMITS.heads);
  if (dim % heads !== 0 || (dim / heads) % 2 !== 0) throw bad('heads', heads, `must divide dim (${dim}) into heads of even size (rotary pairs)`);
  const kvHeads = s.kvHeads === undefined ? heads : int(s, 'kvHeads', 1, heads);
  if (heads % kvHeads !== 0) throw bad('kvHeads', kvHeads, `must divide heads (${heads})`);
  const ffnDim = int(s, 'ffnDim', 1, LIMITS.ffnDim);
  const vocab = int(s, 'vocab', BYTE_VOCAB, BYTE_VOCAB);
  const contextLength = int(s, 'contextLength', 1, LIMITS.contextLength);
  const ropeTheta = s.ropeTheta;
  if (typeof ropeTheta !== 'number' || !(ropeTheta > 1 && ropeTheta <= 1e12)) throw bad('ropeTheta', ropeTheta, 'must be a number in (1, 1e12]');
  const normEps = s.normEps;
  if (typeof normEps !== 'number' || !(normEps > 0 && normEps < 1)) throw bad('normEps', normEps, 'must be a number in (0, 1)');
  const seed = int(s, 'seed', 0, 0xffffffff);
  // dim ≤ 16384 and ffnDim ≤ 65536 keep every matrix ≤ 2^30 elements; the kernel allows 2^28.
  if (ffnDim * dim > MAX_LAYER_ELEMENTS) throw bad('ffnDim', ffnDim, `× dim exceeds ${MAX_LAYER_ELEMENTS} weights per tensor`);
  if (dim * dim > MAX_LAYER_ELEMENTS) throw bad('dim', dim, `² exceeds ${MAX_LAYER_ELEMENTS} weights per tensor`);
  const checked: CheckedModelSpec = Object.freeze({
    format: MODEL_FORMAT, version: MODEL_VERSION, mode: 'procedural', architecture: 'llama',
    dim, layers, heads, kvHeads, ffnDim, vocab, contextLength, ropeTheta, normEps, seed,
    headDim: dim / heads,
  });
  CHECKED.add(checked);
  return checked;
}

// Specs this module validated (frozen, so still valid): checking them again is a no-op,
// and their derived `headDim` is not mistaken for an unknown field.
const CHECKED = new WeakSet<object>();

/** The spec as a plain document (defaults filled in, no derived fields): what is hashed and sent. */
export function normalizeModelSpec(spec: unknown): Required<ModelSpec> {
  const { headDim: _, ...doc } = checkModelSpec(spec);
  return doc;
}

/**
 * The model's id: lowercase hex SHA-256 of the canonical JSON (src/protocol) of the
 * normalized spec. Omitting `kvHeads` or writing its default gives the same id; key
 * order and whitespace do not matter.
 * @throws KpcError `INFER_BAD_SPEC`
 */
export function modelSpecId(spec: unknown): string {
  return toHex(sha256(canonicalJsonBytes(normalizeModelSpec(spec))));
}

/**
 * Built-in specs. `kpc-tiny`: well under a millisecond per token, 132 288 weights
 * (0.53 MB as float32). `kpc-small`: 23 866 880 weights (95.5 MB as float32), ~25 ms per
 * token on one core: the size where spreading blocks over several tabs pays. Both are
 * procedural, hence untrained.
 */
export const MODEL_PRESETS: Readonly<Record<'kpc-tiny' | 'kpc-small', ModelSpec>> = Object.freeze({
  'kpc-tiny': Object.freeze({
    format: 'kpc-model', version: 1, mode: 'procedural', architecture: 'llama',
    dim: 64, layers: 2, heads: 4, kvHeads: 4, ffnDim: 172, vocab: BYTE_VOCAB,
    contextLength: 256, ropeTheta: 10000, normEps: 1e-5, seed: 0x6b7063, // "kpc"
  }),
  'kpc-small': Object.freeze({
    format: 'kpc-model', version: 1, mode: 'procedural', architecture: 'llama',
    dim: 512, layers: 8, heads: 8, kvHeads: 4, ffnDim: 1408, vocab: BYTE_VOCAB,
    contextLength: 1024, ropeTheta: 10000, normEps: 1e-5, seed: 0x6b7063,
  }),
});

/** Name of a built-in spec. */
export type ModelPresetName = keyof typeof MODEL_PRESETS;

/**
 * A spec by preset name, or the given spec, validated.
 * @throws KpcError `INFER_BAD_SPEC` (unknown preset name: field `(root)`)
 */
export function resolveModelSpec(spec: ModelSpec | ModelPresetName | string): CheckedModelSpec {
  if (typeof spec === 'string') {
    if (!Object.hasOwn(MODEL_PRESETS, spec)) throw bad('(root)', spec, `is not a preset (${Object.keys(MODEL_PRESETS).join(', ')})`);
    return checkModelSpec(MODEL_PRESETS[spec as ModelPresetName]);
  }
  return checkModelSpec(spec);
}
