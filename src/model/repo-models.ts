import { KpcError } from '../errors.js';
import { MODEL_PRESETS, type ModelPresetName } from '../infer/model-spec.js';

/**
 * The trained model shipped in the repository (`models/`): a small Llama trained on the
 * King James Bible by scripts/train/train.py, in each committed type. Elements and CLIs
 * accept its name where they accept a GGUF URL.
 */

/** The files of one repo model, by type, relative to the package root. */
export interface RepoModel {
  /** What it is. */
  readonly description: string;
  /** File of each type. */
  readonly files: Readonly<Record<RepoModelType, string>>;
  /** The type used when none is named (small and exact enough). */
  readonly defaultType: RepoModelType;
}

/** Types the repo model is committed in. */
export type RepoModelType = 'f32' | 'q8_0' | 'q4_0' | 'q4_k_m';

/** Name of the repo model. */
export const REPO_MODEL_NAME = 'kjv-llama-3m';

const DIR = `models/${REPO_MODEL_NAME}`;

/** Models in `models/`, by name. */
export const REPO_MODELS: Readonly<Record<string, RepoModel>> = Object.freeze({
  [REPO_MODEL_NAME]: Object.freeze({
    description: 'Llama, 8 blocks, 3.7M parameters, trained on the King James Bible (scripts/train)',
    files: Object.freeze({ f32: `${DIR}/model-f32.gguf`, q8_0: `${DIR}/model-q8_0.gguf`, q4_0: `${DIR}/model-q4_0.gguf`, q4_k_m: `${DIR}/model-q4_k_m.gguf` }),
    defaultType: 'q8_0' as const,
  }),
});

/**
 * The package-relative path of a repo model given as `name` or `name:type`
 * (e.g. `kjv-llama-3m`, `kjv-llama-3m:q4_k_m`), or undefined when `ref` names none.
 */
export function repoModelPath(ref: string): string | undefined {
  const [name, type] = ref.split(':', 2);
  const model = Object.hasOwn(REPO_MODELS, name) ? REPO_MODELS[name] : undefined;
  if (!model) return undefined;
  const t = (type ?? model.defaultType) as RepoModelType;
  return Object.hasOwn(model.files, t) ? model.files[t] : undefined;
}

/** What a model argument (`<kpc-infer model>`, `kpc-generate --model`) names. */
export type ModelRef =
  | { readonly kind: 'procedural'; readonly name: ModelPresetName }
  | { readonly kind: 'repo'; readonly path: string }
  | { readonly kind: 'gguf'; readonly location: string };

/**
 * Reads a model argument: a procedural preset (`kpc-tiny`), the repo model
 * (`kjv-llama-3m[:type]`, its package-relative path), or the URL or path of a GGUF file
 * (anything with a `/` or ending in `.gguf`).
 * @throws KpcError `INFER_BAD_SPEC` for a bare name that is none of these, listing the names
 */
export function parseModelRef(ref: string): ModelRef {
  if (Object.hasOwn(MODEL_PRESETS, ref)) return { kind: 'procedural', name: ref as ModelPresetName };
  const path = repoModelPath(ref);
  if (path) return { kind: 'repo', path };
  if (ref.includes('/') || /\.gguf$/i.test(ref)) return { kind: 'gguf', location: ref };
  const known = [...Object.keys(MODEL_PRESETS), ...Object.keys(REPO_MODELS)].join(', ');
  throw new KpcError('INFER_BAD_SPEC', `unknown model "${ref}": use ${known}, or the URL or path of a GGUF file`, { field: 'model', value: ref });
}
