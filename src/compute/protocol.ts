/**
 * The regeneration Worker's message protocol, and the pure request handler the Worker
 * runs. Kept apart from the Worker entry so it can be tested without a Worker (and so
 * the entry stays a few lines of wiring).
 */
import { KpcError, type KpcErrorCode } from '../errors.js';
import { generateLayer, type LayerSpec } from '../math/index.js';

/** A request to the regeneration Worker. */
export interface RegenRequest {
  /** Caller-chosen id, echoed in the response. */
  id: number;
  /** The operation; only `'layer'` (generate one layer) exists. */
  op: 'layer';
  /** The layer to generate. */
  spec: LayerSpec;
}

/** The Worker's answer to a {@link RegenRequest}. */
export type RegenResponse =
  | { id: number; ok: true; buffer: ArrayBuffer }
  | { id: number; ok: false; code: KpcErrorCode; message: string };

/** Sent once by the Worker when its module has loaded (the client then revokes the blob URL). */
export interface RegenReady {
  op: 'ready';
}

/**
 * Answers one request: the response and the list of objects to transfer with it (the
 * layer's ArrayBuffer — 4 MB for 1000×1000 — moves instead of being copied).
 * Never throws: every failure becomes an `ok: false` response carrying a KpcError code.
 */
export function handleRegenRequest(data: unknown): { response: RegenResponse; transfer: Transferable[] } {
  const req = (typeof data === 'object' && data !== null ? data : {}) as Partial<RegenRequest>;
  const id = typeof req.id === 'number' ? req.id : -1;
  try {
    if (req.op !== 'layer') throw new KpcError('COMPUTE_WORKER_FAILED', `unknown op ${String(req.op)}`);
    const buffer = generateLayer(req.spec as LayerSpec).buffer as ArrayBuffer;
    return { response: { id, ok: true, buffer }, transfer: [buffer] };
  } catch (err) {
    const code: KpcErrorCode = err instanceof KpcError ? err.code : 'COMPUTE_WORKER_FAILED';
    const message = err instanceof Error ? err.message : String(err);
    return { response: { id, ok: false, code, message }, transfer: [] };
  }
}
