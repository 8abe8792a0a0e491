/**
 * A GGUF model behind HTTP as one node of a cluster holds it: the header (checked
 * against the agreed model id), the manifest (checked against its agreed hash), and
 * only the tensors this node was asked for, fetched by range, checked, kept in the
 * node's tensor store and reused after a reload.
 *
 * Events (`CustomEvent`): `progress` ({@link HostedProgress}), `loader`
 * (a {@link LoaderEvent}: retries, timeouts, bad hosts, integrity failures),
 * `storage` (`{error}`: the store is full even after evicting other models; the tensors
 * stay in memory and the model still runs, but a reload will download them again).
 */
import { KpcError, isKpcError } from '../../errors.js';
import type { GgufFile, GgufTensorInfo } from '../../gguf/file.js';
import { HttpSource } from '../../gguf/http.js';
import { readGguf } from '../../gguf/reader.js';
import type { ByteSource } from '../../gguf/source.js';
import { LocalModel, type ModelInfo, type TextCodec } from '../../infer/generate.js';
import { Transformer } from '../../infer/forward.js';
import type { ModelFootprint } from '../../infer/cluster/capacity.js';
import type { Tokenizer } from '../../tokenizer/index.js';
import { GgufWeights, type RawTensor } from '../gguf-weights.js';
import type { LlamaConfig } from '../llama-config.js';
import { inspectModel, rawTensor } from '../load.js';
import { OUTPUT, TOKEN_EMBD, tensorNamesFor } from '../tensor-names.js';
import { checkManifestMatches, manifestUrlFor, parseManifest, sha256Hex, type ModelManifest } from './manifest.js';
import type { ModelRef } from './model-ref.js';
import { RangeLoader, type LoaderEvent, type RangeLoaderOptions, type TensorRange } from './range-loader.js';
import type { TensorStore } from './tensor-store.js';

/** Bytes of this node's share of the model: asked for, done, and how many came from the store. */
export interface HostedProgress {
  /** The model id. */
  readonly modelId: string;
  /** Tensor bytes this node was asked to hold so far. */
  readonly totalBytes: number;
  /** Of those, bytes held now. */
  readonly loadedBytes: number;
  /** Of those, bytes that came from the tensor store rather than the network. */
  readonly cachedBytes: number;
  /** Blocks held: [from, to) ranges, merged. */
  readonly blocks: ReadonlyArray<readonly [number, number]>;
  /** The tensor just added, if any. */
  readonly tensor?: string;
}

/** Options of {@link HostedModel.open}. */
export interface HostedModelOptions extends Pick<RangeLoaderOptions, 'fetch' | 'concurrency' | 'retries' | 'backoffMs' | 'timeoutMs' | 'maxGapBytes'> {
  /**
   * The manifest: a URL, a parsed manifest, or `false` for none. Default: the
   * reference's, else the GGUF URL with `.manifest.json` appended (a 404 there means
   * the model runs unverified).
   */
  manifest?: string | ModelManifest | false;
  /** Where downloaded tensors are kept (default: none — memory only). */
  store?: TensorStore;
  /** Positions of the KV cache (default: the trained context, at most 4096). */
  contextLength?: number;
  /** Stops every download of this model. */
  signal?: AbortSignal;
}

/** The tensors of blocks [from, to), and the embedding / head when asked (each once). */
function tensorNames(file: GgufFile, from: number, to: number, embed: boolean, head: boolean): string[] {
  return tensorNamesFor(file.findTensor(OUTPUT) !== undefined, from, to, { embed, head });
}

/**
 * Keeps the bytes read from the start of a file, so the header's hash is taken from the
 * reads that parsed it rather than a second download of it.
 */
class PrefixSource implements ByteSource {
  #prefix = new Uint8Array(0);
  constructor(private readonly inner: ByteSource) {}
  get size(): number | undefined {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    if (end <= this.#prefix.byteLength) return this.#prefix.subarray(offset, end);
    const bytes = await this.inner.read(offset, length);
    if (offset === this.#prefix.byteLength) {
      const grown = new Uint8Array(offset + bytes.byteLength);
      grown.set(this.#prefix);
      grown.set(bytes, offset);
      this.#prefix = grown;
    }
    return bytes;
  }
}

/** A hosted GGUF model as one node holds it (see the module comment). */
export class HostedModel extends EventTarget {
  /** The agreed reference (with the manifest's hash when there is one). */
  readonly ref: ModelRef;
  /** The parsed header. */
  readonly file: GgufFile;
  /** Dimensions and constants. */
  readonly config: LlamaConfig;
  /** The file's tokenizer. */
  readonly tokenizer: Tokenizer;
  /** The tokenizer as generation uses it. */
  readonly codec: TextCodec;
  /** Label: source 'gguf', trained. */
  readonly info: ModelInfo;
  /** The manifest, when the host published one: every tensor is then checked. */
  readonly manifest: ModelManifest | undefined;
  /** The tensors held, growing as blocks are fetched. */
  readonly weights: GgufWeights;
  /** The forward pass over the tensors held. */
  readonly transformer: Transformer;
  /** Bytes per block, of the embedding and of the head: what capacity assignment weighs. */
  readonly footprint: ModelFootprint;
  readonly #tensors = new Map<string, RawTensor>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #loader: RangeLoader;
  readonly #store?: TensorStore;
  #asked = new Set<string>();
  /** Ranges (`from-to-embed head`) known to be held. */
  readonly #held = new Set<string>();
  #loaded = 0;
  #cached = 0;

  private constructor(ref: ModelRef, file: GgufFile, manifest: ModelManifest | undefined, opts: HostedModelOptions) {
    super();
    const inspected = inspectModel(file, { contextLength: opts.contextLength, name: ref.name });
    this.ref = ref;
    this.file = file;
    this.manifest = manifest;
    ({ config: this.config, tokenizer: this.tokenizer, codec: this.codec, info: this.info } = inspected);
    this.weights = new GgufWeights(this.config, ref.modelId, this.#tensors);
    this.transformer = new Transformer(this.weights);
    this.#store = opts.store;
    this.#loader = new RangeLoader({ ...opts, urls: ref.urls, onEvent: (e) => this.#emit<LoaderEvent>('loader', e) });
    const bytesOf = (names: string[]) => names.reduce((n, name) => n + this.#info(name).byteLength, 0);
    this.footprint = {
      blockBytes: Array.from({ length: this.config.layers }, (_, l) => bytesOf(tensorNames(file, l, l + 1, false, false))),
      embedBytes: bytesOf([TOKEN_EMBD]),
      headBytes: bytesOf(tensorNames(file, 0, 0, false, true)),
    };
  }

  /**
   * Opens a hosted model: reads its header (a few small range requests), checks it
   * against the reference's model id, fetches and checks the manifest, and refuses
   * anything kpc cannot run — all before any tensor is downloaded.
   * @param model - the GGUF's URL, or an agreed {@link ModelRef}
   * @throws KpcError `GGUF_*` (not a GGUF, host errors: no Range, no CORS),
   *   `MODEL_UNSUPPORTED_ARCH`, `MODEL_BAD_METADATA`, `TOKENIZER_*`, `MODEL_INTEGRITY`
   *   (the header or manifest is not the agreed one), `MODEL_BAD_MANIFEST`
   */
  static async open(model: string | ModelRef, opts: HostedModelOptions = {}): Promise<HostedModel> {
    const urls = typeof model === 'string' ? [model] : model.urls;
    let lastError: unknown;
    for (const url of urls) {
      const source = new PrefixSource(new HttpSource(url, { fetch: opts.fetch, signal: opts.signal }));
      let file: GgufFile;
      let header: Uint8Array;
      try {
        file = await readGguf(source);
        header = await source.read(0, file.headerByteLength);
      } catch (err) {
        lastError = err;
        if (urls.length > 1 && isKpcError(err, 'GGUF_SOURCE_FAILED')) continue;
        throw err;
      }
      const modelId = sha256Hex(header);
      if (typeof model !== 'string' && modelId !== model.modelId) {
        lastError = new KpcError('MODEL_INTEGRITY', `${url} serves a file whose header does not hash to the agreed model id`, { url, modelId, expected: model.modelId });
        continue;
      }
      const manifest = await HostedModel.#manifest(model, url, opts);
      if (manifest) {
        checkManifestMatches(manifest.parsed, file);
        if (manifest.parsed.header.sha256 !== modelId) throw new KpcError('MODEL_INTEGRITY', 'the manifest is for another file: its header hash differs', { url });
      }
      const ref: ModelRef = typeof model !== 'string' ? model : {
        urls, size: file.size, modelId,
        ...(manifest ? { manifest: { url: manifest.url, sha256: manifest.sha256 } } : {}),
      };
      return new HostedModel(ref, file, manifest?.parsed, opts);
    }
    throw lastError;
  }

  /** The manifest: given, agreed (checked against its hash), or found by convention. */
  static async #manifest(model: string | ModelRef, url: string, opts: HostedModelOptions): Promise<{ parsed: ModelManifest; url: string; sha256: string } | undefined> {
    if (opts.manifest === false) {
      if (typeof model !== 'string' && model.manifest) throw new KpcError('MODEL_BAD_MANIFEST', 'the agreed reference has a manifest; it cannot be turned off');
      return undefined;
    }
    if (typeof opts.manifest === 'object') {
      const text = JSON.stringify(opts.manifest);
      return { parsed: parseManifest(text), url: '', sha256: sha256Hex(new TextEncoder().encode(text)) };
    }
    const agreed = typeof model === 'string' ? undefined : model.manifest;
    if (typeof model !== 'string' && !agreed) return undefined;
    const murl = agreed?.url ?? opts.manifest ?? manifestUrlFor(url);
    let res: Response;
    try {
      res = await (opts.fetch ?? globalThis.fetch)(murl, { signal: opts.signal });
    } catch (err) {
      if (agreed || opts.manifest) throw new KpcError('MODEL_BAD_MANIFEST', `the manifest ${murl} could not be fetched: ${String(err)}`, { url: murl });
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      // By convention only: no manifest there means an unverified model, not an error.
      if (!agreed && !opts.manifest && res.status === 404) return undefined;
      throw new KpcError('MODEL_BAD_MANIFEST', `the manifest ${murl} answered HTTP ${res.status}`, { url: murl, status: res.status });
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const sha256 = sha256Hex(bytes);
    if (agreed && sha256 !== agreed.sha256) throw new KpcError('MODEL_INTEGRITY', `the manifest ${murl} is not the agreed one (its SHA-256 differs)`, { url: murl });
    return { parsed: parseManifest(bytes), url: murl, sha256 };
  }

  /** The model id (SHA-256 of the header). */
  get modelId(): string {
    return this.ref.modelId;
  }

  /** True when a manifest checks every tensor. */
  get verified(): boolean {
    return this.manifest !== undefined;
  }

  /** Bytes asked for, held, and from the store; blocks held. */
  get progress(): HostedProgress {
    let total = 0;
    for (const name of this.#asked) total += this.#info(name).byteLength;
    return { modelId: this.modelId, totalBytes: total, loadedBytes: this.#loaded, cachedBytes: this.#cached, blocks: this.heldBlocks() };
  }

  /** Hosts found serving wrong bytes or refusing ranges. */
  get badSources(): readonly string[] {
    return this.#loader.badSources;
  }

  /** Requests made to the hosts so far. */
  get requests(): number {
    return this.#loader.requests;
  }

  /** Blocks held now, as merged [from, to) ranges. */
  heldBlocks(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let l = 0; l < this.config.layers; l++) {
      if (!this.weights.holds(l, l + 1)) continue;
      const last = out[out.length - 1];
      if (last && last[1] === l) last[1] = l + 1;
      else out.push([l, l + 1]);
    }
    return out;
  }

  /** True when blocks [from, to) (and the embedding / head when asked) are held. */
  holds(from: number, to: number, parts: { embed?: boolean; head?: boolean } = {}): boolean {
    return tensorNames(this.file, from, to, parts.embed ?? false, parts.head ?? false).every((n) => this.#tensors.has(n));
  }

  /**
   * Resolves once blocks [from, to) — and the embedding and/or head when asked — are
   * held: from the store when it has them (checked again), else downloaded by range.
   * Concurrent calls share downloads.
   * @throws KpcError `MODEL_INTEGRITY`, `MODEL_DOWNLOAD_FAILED`, `INFER_ABORTED`
   */
  async ensure(from: number, to: number, parts: { embed?: boolean; head?: boolean } = {}): Promise<void> {
    // Every request a node serves asks this: once a range is held, answer without work.
    const key = `${from}-${to}-${parts.embed ? 1 : 0}${parts.head ? 1 : 0}`;
    if (this.#held.has(key)) return;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > this.config.layers || from > to) {
      throw new KpcError('INFER_BAD_INPUT', `blocks [${from}, ${to}) are not within the model's ${this.config.layers}`, { from, to });
    }
    const names = tensorNames(this.file, from, to, parts.embed ?? false, parts.head ?? false);
    for (const n of names) this.#asked.add(n);
    const waits: Promise<void>[] = [];
    const fresh: GgufTensorInfo[] = [];
    for (const n of names) {
      if (this.#tensors.has(n)) continue;
      const pending = this.#inflight.get(n);
      if (pending) waits.push(pending);
      else fresh.push(this.#info(n));
    }
    if (fresh.length > 0) {
      const job = this.#fetch(fresh);
      for (const t of fresh) this.#inflight.set(t.name, job);
      waits.push(job.finally(() => fresh.forEach((t) => this.#inflight.delete(t.name))));
    }
    this.#report();
    await Promise.all(waits);
    this.#held.add(key);
  }

  /** The whole model as a LocalModel (fetches what is missing first). */
  async localModel(): Promise<LocalModel> {
    await this.ensure(0, this.config.layers, { embed: true, head: true });
    return LocalModel.fromWeights(this.weights, this.codec, this.info);
  }

  async #fetch(infos: GgufTensorInfo[]): Promise<void> {
    const expected = new Map(this.manifest?.tensors.map((t) => [t.name, t.sha256]));
    const ranges: TensorRange[] = infos.map((t) => ({ name: t.name, offset: t.offset, length: t.byteLength, sha256: expected.get(t.name) }));
    const missing: TensorRange[] = [];
    for (const r of ranges) {
      const stored = await this.#fromStore(r);
      if (stored) {
        this.#add(r.name, stored, true);
        // A content-addressed entry may be another model's: count this model as a user too, so evicting that one keeps it.
        if (r.sha256) void this.#toStore(r, stored);
      } else missing.push(r);
    }
    await this.#loader.load(missing, async (r, bytes) => {
      this.#add(r.name, bytes, false);
      await this.#toStore(r, bytes);
    });
  }

  /** Store key: content-addressed when the bytes are checked (shared across models), else by model and name. */
  #key(r: TensorRange): string {
    return r.sha256 ? `sha256:${r.sha256}` : `${this.modelId}/${r.name}`;
  }

  async #fromStore(r: TensorRange): Promise<Uint8Array | undefined> {
    if (!this.#store) return undefined;
    const bytes = await this.#store.get(this.#key(r), this.modelId).catch(() => undefined);
    if (!bytes || bytes.byteLength !== r.length) return undefined;
    // Storage is not the network, but a damaged entry must not run either: same check.
    if (r.sha256 && sha256Hex(bytes) !== r.sha256) return undefined;
    return bytes;
  }

  async #toStore(r: TensorRange, bytes: Uint8Array): Promise<void> {
    if (!this.#store) return;
    try {
      await this.#store.put(this.#key(r), bytes, this.modelId);
    } catch (err) {
      this.#emit('storage', { error: isKpcError(err) ? err : new KpcError('MODEL_STORAGE_FULL', String(err)) });
    }
  }

  #add(name: string, bytes: Uint8Array, cached: boolean): void {
    this.#tensors.set(name, rawTensor(this.#info(name), this.config, bytes));
    this.#loaded += bytes.byteLength;
    if (cached) this.#cached += bytes.byteLength;
    this.#report(name);
  }

  #report(tensor?: string): void {
    this.#emit<HostedProgress>('progress', { ...this.progress, ...(tensor ? { tensor } : {}) });
  }

  #info(name: string): GgufTensorInfo {
    const t = this.file.findTensor(name);
    if (!t) throw new KpcError('MODEL_MISSING_TENSOR', `the file has no tensor "${name}"`, { name });
    return t;
  }

  #emit<T>(type: string, detail: T): void {
    this.dispatchEvent(new CustomEvent<T>(type, { detail }));
  }
}

