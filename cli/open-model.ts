/**
 * What a model argument of a CLI names: a procedural preset (`kpc-tiny`), the repo model
 * (`kjv-llama-3m[:type]`), an http(s) URL, or a local GGUF file.
 */
import { fileURLToPath } from 'node:url';
import { HttpSource } from '../src/gguf/http.js';
import { LocalModel } from '../src/infer/generate.js';
import { loadGgufModel, parseModelRef } from '../src/model/index.js';
import { openFileSource } from './file-source.js';

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
export async function openModel(arg: string, contextLength?: number): Promise<LocalModel> {
  const ref = parseModelRef(arg);
  if (ref.kind === 'procedural') return LocalModel.load(ref.name);
  if (ref.kind === 'gguf' && /^https?:\/\//i.test(ref.location)) {
    const bar = progressBar(`downloading ${ref.location}`);
    const gguf = await loadGgufModel(new HttpSource(ref.location), { contextLength, onProgress: (p) => bar(p.loadedBytes, p.totalBytes) });
    return gguf.localModel();
  }
  const path = ref.kind === 'repo' ? packagePath(ref.path) : ref.location;
  return (await loadGgufModel(await openFileSource(path), { contextLength })).localModel();
}
