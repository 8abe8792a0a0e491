/**
 * An in-memory mesh of N fully linked nodes for Node tests of the inference layer:
 * frames are delivered asynchronously (a later macrotask), optionally dropped at a
 * seeded rate, and a node can be removed (its links close, frames in flight are lost),
 * muted (alive but silent), slowed down, or made to tamper with what it sends.
 */
import type { KpcError } from '../../src/errors.js';
import { ClusterInference, decodeFrame, encodeFrame, payloadChecksum, type ClusterInferenceOptions, type InferenceMesh } from '../../src/infer/cluster/index.js';
import { mulberry32 } from '../../src/infer/index.js';

/** One node's view of the fake mesh. */
export class FakeEndpoint implements InferenceMesh {
  alive = true;
  /** Alive (links open) but sends nothing. */
  muted = false;
  state = 'READY';
  /** Delivers what this node sends this much later, ms (0: the next macrotask). */
  delayMs = 0;
  /** Rewrites (or with null, swallows) what this node sends. */
  tamper: ((to: string, body: Uint8Array) => Uint8Array | null) | null = null;
  readonly listeners = new Set<(from: string, body: Uint8Array) => void>();

  constructor(readonly id: string, private readonly net: FakeNetwork) {}

  peers() {
    return [...this.net.endpoints.values()].filter((e) => e !== this && e.alive && this.alive).map((e) => ({ nodeId: e.id, state: e.state }));
  }

  send(to: string, body: Uint8Array): boolean {
    const target = this.net.endpoints.get(to);
    if (!this.alive || !target?.alive) return false;
    if (this.muted) return true;
    const bytes = this.tamper ? this.tamper(to, body.slice()) : body.slice();
    if (!bytes || this.net.drop()) return true;
    const deliver = () => {
      if (!this.alive || !target.alive) return;
      for (const cb of target.listeners) cb(this.id, bytes);
    };
    if (this.delayMs > 0) setTimeout(deliver, this.delayMs);
    else setImmediate(deliver);
    return true;
  }

  onFrame(cb: (from: string, body: Uint8Array) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  penalize(nodeId: string, error: KpcError): void {
    this.net.penalties.push({ by: this.id, nodeId, code: error.code });
  }
}

/** The fake network: endpoints by id, a seeded drop rate, and every penalty handed out. */
export class FakeNetwork {
  readonly endpoints = new Map<string, FakeEndpoint>();
  readonly penalties: Array<{ by: string; nodeId: string; code: string }> = [];
  readonly #rng: () => number;

  constructor(private readonly dropRate = 0, seed = 1) {
    this.#rng = mulberry32(seed);
  }

  add(id: string): FakeEndpoint {
    const e = new FakeEndpoint(id, this);
    this.endpoints.set(id, e);
    return e;
  }

  drop(): boolean {
    return this.dropRate > 0 && this.#rng() < this.dropRate;
  }

  /** Takes a node off the network: its links close, frames in flight are lost. */
  remove(id: string): void {
    const e = this.endpoints.get(id);
    if (e) e.alive = false;
  }
}

/** N nodes with ClusterInference each (ids `n0`…, or the given ones). */
export function makeCluster(ids: readonly string[], opts: Partial<ClusterInferenceOptions> & { dropRate?: number } = {}) {
  const net = new FakeNetwork(opts.dropRate ?? 0);
  const nodes = ids.map((id) => new ClusterInference({ ...opts, nodeId: id, mesh: net.add(id) }));
  return { net, nodes, endpoint: (id: string) => net.endpoints.get(id)! };
}

/**
 * Makes a node lie consistently: every RESULT it sends has one float changed (by
 * `delta`) and a checksum recomputed to match, so only a vote can catch it.
 */
export function corrupt(e: FakeEndpoint, delta = 1): void {
  e.tamper = (_to, body) => {
    const f = decodeFrame(body);
    if (f.kind !== 'result') return body;
    const payload = f.payload.slice();
    const view = new DataView(payload.buffer);
    view.setFloat32(0, view.getFloat32(0, true) + delta, true);
    return encodeFrame({ ...f, payload, checksum: payloadChecksum(payload) });
  };
}

/** Every item of an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The rejection of a promise (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<KpcError> {
  try {
    await p;
  } catch (err) {
    return err as KpcError;
  }
  throw new Error('expected a rejection');
}

/** Events of one type, recorded. */
export function record<T>(target: EventTarget, type: string): T[] {
  const out: T[] = [];
  target.addEventListener(type, (e) => out.push((e as CustomEvent<T>).detail));
  return out;
}
