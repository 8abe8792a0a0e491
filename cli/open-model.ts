/**
 * What a model argument of a CLI names: a procedural preset (`kpc-tiny`), the repo model
 * (`kjv-llama-3m[:type]`), an http(s) URL, or a local GGUF file.
 */
import { fileURLToPath } from 'node:url';
import { HttpSource } from '../src/gguf/http.js';
import type { ByteSource } from '../src/gguf/source.js';
import { LocalModel } from '../src/infer/generate.js';
import { MODEL_PRESETS, type ModelPresetName } from '../src/infer/model-spec.js';
import { loadGgufModel, repoModelPath, type GgufModel } from '../src/model/index.js';
import { NodeFileSource } from './node-file-source.js';

/** An opened model and how to release it. */
export interface OpenedModel {
  readonly model: LocalModel;
  /** The GGUF model, when it is one. */
  readonly gguf?: GgufModel;
  close(): Promise<void>;
}

/** Resolves a package-relative path (models/…) from this file's location. */
export function packagePath(rel: string): string {
  return fileURLToPath(new URL(`../${rel}`, import.meta.url));
}

/** Writes a one-line progress bar to stderr while a URL loads. */
function progressBar(label: string): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
    if (pct === last) return;
    last = pct;
    process.stderr.write(`\r${label}: ${(done / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB (${pct}%)${done >= total ? '\n' : ''}`);
  };
}

/**
 * Opens `ref`. URLs are read with Range requests (header first, then each tensor) and
 * show progress on stderr.
 * @param contextLength - KV cache positions (GGUF only)
 */
export async function openModel(ref: string, contextLength?: number): Promise<OpenedModel> {
  if (Object.hasOwn(MODEL_PRESETS, ref)) {
    const model = await LocalModel.load(ref as ModelPresetName);
    return { model, close: async () => {} };
  }
  let source: ByteSource;
  let close = async (): Promise<void> => {};
  let onProgress: ((p: { loadedBytes: number; totalBytes: number }) => void) | undefined;
  if (/^https?:\/\//i.test(ref)) {
    source = new HttpSource(ref);
    const bar = progressBar(`downloading ${ref}`);
    onProgress = (p) => bar(p.loadedBytes, p.totalBytes);
  } else {
    const file = await NodeFileSource.open(repoModelPath(ref) ? packagePath(repoModelPath(ref)!) : ref);
    source = file;
    close = () => file.close();
  }
  try {
    const gguf = await loadGgufModel(source, { contextLength, onProgress });
    return { model: gguf.localModel(), gguf, close };
  } catch (err) {
    await close();
    throw err;
  }
}
