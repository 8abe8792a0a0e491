/**
 * One generation's trip through the cluster: for every forward step (a prompt chunk or
 * one new token), the activations go through the segments in order; each segment is
 * computed by its group of r holders, their outputs are put to the vote, and the
 * winning output goes on to the next segment.
 *
 * The requester keeps the input of every segment at every position so far (its
 * "history"). That is what makes failover and verification cheap: a node joining a
 * group — replacing one that left, timed out or lost the vote — is first sent the
 * history of its segment (in chunks, asking only for the last row back), which rebuilds
 * its KV cache with exactly the bits the old holder had, then the current step. With
 * r ≥ 2 the replay is checked too: its last row must equal the accepted output.
 */
import { KpcError } from '../../errors.js';
import type { Transformer } from '../forward.js';
import type { KpcErrorCode } from '../../errors.js';
import { floatsToBytes, payloadChecksum, type SampleParams } from './frames.js';
import { redundancyQuorum, type DisagreementDetail, type FailoverDetail, type RouteHop } from './types.js';
import type { SegmentAssignment } from './assignment.js';

/** Rows per request: a prompt chunk, and a replay step, bound the work behind one timeout. */
export const CHUNK_ROWS = 32;

/** What a node's attempt at a request came to. */
export type Outcome =
  | { ok: true; hidden: Float32Array; checksum: string }
  | { ok: false; reason: 'closed' | 'timeout' | 'error'; error: KpcError; have: number; detectMs: number };

/** A request as the job asks the transport for it. */
export interface JobRequest {
  from: number;
  to: number;
  pos: number;
  rows: number;
  lastRow: boolean;
  /** The payload holds token ids (as floats, exact) for the node to embed. */
  tokens: boolean;
  /** Have the node sample the next token from the last row (last segment of a remote model). */
  sample?: SampleParams;
  payload: Float32Array;
}

/** What the job needs from {@link ClusterInference}. */
export interface JobTransport {
  readonly self: string;
  now(): number;
  /** True when the node can be given work now (self, or a linked READY peer). */
  available(nodeId: string): boolean;
  /** Runs a request on a node. @throws KpcError `INFER_ABORTED` */
  request(nodeId: string, job: InferenceJob, req: JobRequest): Promise<Outcome>;
  penalize(nodeId: string, error: KpcError): void;
  failover(detail: FailoverDetail): void;
  disagreement(detail: DisagreementDetail): void;
}

/** Growable float32 rows: the inputs of one segment at every position so far. */
class History {
  #buf: Float32Array;
  constructor(private readonly dim: number, private readonly maxRows: number) {
    this.#buf = new Float32Array(Math.min(maxRows, 64) * dim);
  }
  write(pos: number, rows: Float32Array): void {
    const end = pos * this.dim + rows.length;
    if (end > this.#buf.length) {
      const grown = new Float32Array(Math.min(this.maxRows * this.dim, Math.max(end, this.#buf.length * 2)));
      grown.set(this.#buf);
      this.#buf = grown;
    }
    this.#buf.set(rows, pos * this.dim);
  }
  read(start: number, end: number): Float32Array {
    return this.#buf.slice(start * this.dim, end * this.dim);
  }
}

interface SegmentState extends SegmentAssignment {
  /** Current holders (≤ r after a step). */
  group: string[];
  /** Positions each node holds for this job and segment, as far as we know. */
  have: Map<string, number>;
  /** Nodes that failed or lost a vote in this job: never asked again. */
  excluded: Set<string>;
}

type Attempt =
  | { kind: 'ok'; out: Float32Array; checksum: string }
  | { kind: 'failed'; out: Outcome & { ok: false }; at: number }
  | { kind: 'disagree'; checksum: string; expected: string };

/** One generation's segments, groups and history. */
export class InferenceJob {
  /** 16 random bytes, hex: names this job's KV caches on every node. */
  readonly id: string;
  /**
   * The model's id and canonical spec bytes (attached to a node's first request);
   * undefined for a model that cannot travel (a GGUF file: nodes must have loaded it).
   */
  readonly modelId: string;
  readonly specBytes: Uint8Array | undefined;
  /** Every node that was sent work (to be told when the job ends). */
  readonly used = new Set<string>();
  /** Nodes that answered a request of this job (a hosted model's first answer may wait for a download). */
  readonly answered = new Set<string>();
  /** True when the holders embed and sample (a model the requester does not hold). */
  get remote(): boolean {
    return this.#remote;
  }
  readonly #tr: Transformer;
  readonly #t: JobTransport;
  readonly #r: number;
  readonly #segs: SegmentState[];
  readonly #hist: History[];
  /** The first segment embeds and the last samples (the requester does not hold the model). */
  readonly #remote: boolean;
  /** Index of the token being produced, for events. */
  index = 0;

  /** The model's dimensions. */
  get spec(): Transformer['spec'] {
    return this.#tr.spec;
  }

  /**
   * @param opts - ids, the model, the assignment and the transport; `remote`: the
   *   holders embed and sample (a {@link DistributedModel}), not this node
   */
  constructor(opts: { id: string; modelId: string; specBytes: Uint8Array | undefined; transformer: Transformer; assignment: SegmentAssignment[]; redundancy: number; transport: JobTransport; remote?: boolean }) {
    this.id = opts.id;
    this.modelId = opts.modelId;
    this.specBytes = opts.specBytes;
    this.#tr = opts.transformer;
    this.#t = opts.transport;
    this.#r = opts.redundancy;
    this.#remote = opts.remote ?? false;
    this.#segs = opts.assignment.map((a) => ({ ...a, group: [...a.holders], have: new Map(), excluded: new Set() }));
    const { dim, contextLength } = this.#tr.spec;
    // With remote embedding, the first segment's history is the token ids themselves.
    this.#hist = Array.from({ length: this.#segs.length + 1 }, (_, s) => new History(s === 0 && this.#remote ? 1 : dim, contextLength));
  }

  /**
   * Runs `tokens` at positions [pos, pos + n) through every segment; returns the last
   * segment's output and the route and, for a remote model given `sample`, the next
   * token as the last segment's holders sampled it.
   */
  async forward(tokens: number[], pos: number, sample?: SampleParams): Promise<{ hidden: Float32Array; token?: number; route: RouteHop[] }> {
    let h: Float32Array = this.#remote ? Float32Array.from(tokens) : this.#tr.embed(tokens);
    const route: RouteHop[] = [];
    let token: number | undefined;
    for (let s = 0; s < this.#segs.length; s++) {
      const sampling = this.#remote && s === this.#segs.length - 1 ? sample : undefined;
      const { out, nodes } = await this.#runSegment(s, h, pos, sampling);
      route.push({ segment: [this.#segs[s].from, this.#segs[s].to], nodes });
      h = out;
      if (sampling) {
        // The token's 4 bytes ride after the floats (as a float32 view of them).
        token = new Uint32Array(out.buffer, out.byteOffset + (out.length - 1) * 4, 1)[0];
        h = out.subarray(0, out.length - 1);
        if (token >= this.#tr.spec.vocab) {
          throw new KpcError('INFER_BAD_FRAME', `blocks [${this.#segs[s].from}, ${this.#segs[s].to}) sampled token ${token}, outside the vocabulary`, { token });
        }
      }
    }
    return { hidden: h, route, ...(token !== undefined ? { token } : {}) };
  }

  async #runSegment(s: number, input: Float32Array, pos: number, sample: SampleParams | undefined): Promise<{ out: Float32Array; nodes: string[] }> {
    const seg = this.#segs[s];
    const q = redundancyQuorum(this.#r);
    this.#hist[s].write(pos, input);
    const votes = new Map<string, { nodes: string[]; out: Float32Array }>();
    const asked = new Set<string>();
    const failures: Array<{ node: string; reason: 'closed' | 'timeout' | 'error'; detectMs: number; at: number; replacement?: string }> = [];
    const best = () => [...votes.entries()].sort((a, b) => b[1].nodes.length - a[1].nodes.length)[0];
    for (;;) {
      this.#refill(seg, failures);
      let askers = seg.group.filter((n) => !asked.has(n));
      if (askers.length === 0) {
        // Every holder answered and no output has a quorum: ask just enough others to decide.
        const top = best();
        askers = this.#candidates(seg).filter((n) => !asked.has(n)).slice(0, q - (top ? top[1].nodes.length : 0));
        if (askers.length === 0) throw this.#noQuorum(seg, votes, q);
        seg.group.push(...askers);
      }
      for (const a of askers) asked.add(a);
      const attempts = await Promise.all(askers.map((a) => this.#attempt(seg, s, a, input, pos, sample)));
      askers.forEach((node, i) => {
        const at = attempts[i];
        if (at.kind === 'ok') {
          const v = votes.get(at.checksum) ?? { nodes: [], out: at.out };
          v.nodes.push(node);
          votes.set(at.checksum, v);
          return;
        }
        this.#drop(seg, node);
        if (at.kind === 'failed') failures.push({ node, reason: at.out.reason, detectMs: at.out.detectMs, at: at.at });
        else this.#report(seg, node, at.checksum, at.expected);
      });
      const top = best();
      if (!top || top[1].nodes.length < q) continue;
      const [checksum, win] = top;
      for (const [sum, v] of votes) {
        if (sum !== checksum) for (const node of v.nodes) this.#report(seg, node, sum, checksum);
      }
      // Winners first, in rendezvous order, then holders that joined but were not needed yet.
      const rank = (n: string) => seg.ranking.indexOf(n);
      const winners = [...win.nodes].sort((a, b) => rank(a) - rank(b));
      seg.group = [...winners, ...seg.group.filter((n) => !asked.has(n))].slice(0, this.#r);
      this.#refill(seg, failures); // a replacement not needed for this step replays at the next
      const done = this.#t.now();
      for (const f of failures) {
        this.#t.failover({
          job: this.id, segment: [seg.from, seg.to], index: this.index, failed: f.node, reason: f.reason,
          replacement: f.replacement, detectMs: f.detectMs, pauseMs: done - f.at,
        });
      }
      this.#hist[s + 1].write(pos, sample ? win.out.subarray(0, win.out.length - 1) : win.out);
      return { out: win.out, nodes: winners };
    }
  }

  /** Nodes that may join the segment's group, in rendezvous order. */
  #candidates(seg: SegmentState): string[] {
    return seg.ranking.filter((n) => !seg.group.includes(n) && !seg.excluded.has(n) && this.#t.available(n));
  }

  /** Tops the group up to r from the ranking; the first newcomer is recorded as a failed node's replacement. */
  #refill(seg: SegmentState, failures: Array<{ replacement?: string }>): void {
    for (const n of this.#candidates(seg)) {
      if (seg.group.length >= this.#r) break;
      seg.group.push(n);
      const f = failures.find((x) => x.replacement === undefined);
      if (f) f.replacement = n;
    }
  }

  #drop(seg: SegmentState, node: string): void {
    seg.group = seg.group.filter((n) => n !== node);
    seg.excluded.add(node);
    seg.have.delete(node);
  }

  #report(seg: SegmentState, node: string, checksum: string, accepted: string): void {
    this.#drop(seg, node);
    const detail: DisagreementDetail = { job: this.id, nodeId: node, segment: [seg.from, seg.to], index: this.index, checksum, accepted };
    this.#t.disagreement(detail);
    if (node !== this.#t.self) {
      this.#t.penalize(node, new KpcError('INFER_DISAGREEMENT', `output of blocks [${seg.from}, ${seg.to}) differs from the quorum`, { ...detail }));
    }
  }

  #noQuorum(seg: SegmentState, votes: Map<string, { nodes: string[] }>, q: number): KpcError {
    const tally = Object.fromEntries([...votes].map(([sum, v]) => [sum, [...v.nodes]]));
    const code: KpcErrorCode = votes.size === 0 ? 'INFER_UNAVAILABLE' : 'INFER_NO_QUORUM';
    const what = votes.size === 0 ? 'no node could compute' : `no output of ${q} agreeing nodes for`;
    return new KpcError(code, `${what} blocks [${seg.from}, ${seg.to}) at token ${this.index}`, { segment: [seg.from, seg.to], votes: tally, quorum: q, index: this.index });
  }

  /** One node's go at the step: catch its KV cache up if needed, then compute. */
  async #attempt(seg: SegmentState, s: number, node: string, input: Float32Array, pos: number, sample: SampleParams | undefined): Promise<Attempt> {
    const tokens = s === 0 && this.#remote;
    const rows = tokens ? input.length : input.length / this.#tr.spec.dim;
    this.used.add(node);
    let have = Math.min(seg.have.get(node) ?? 0, pos);
    for (let tries = 0; tries < 3; tries++) {
      const caught = have < pos ? await this.#replay(seg, s, node, have, pos) : null;
      if (caught && caught.kind !== 'ok') return caught;
      const o = await this.#t.request(node, this, { from: seg.from, to: seg.to, pos, rows, lastRow: false, tokens, ...(sample ? { sample } : {}), payload: input });
      if (o.ok) {
        seg.have.set(node, pos + rows);
        return { kind: 'ok', out: o.hidden, checksum: o.checksum };
      }
      if (o.error.code !== 'INFER_KV_MISSING') return { kind: 'failed', out: o, at: this.#t.now() };
      have = Math.min(o.have, pos); // it dropped our cache (memory pressure): replay what it lacks
    }
    const error = new KpcError('INFER_KV_MISSING', 'the node keeps losing its cache');
    return { kind: 'failed', out: { ok: false, reason: 'error', error, have: 0, detectMs: 0 }, at: this.#t.now() };
  }

  /**
   * Sends a node positions [from, to) of the segment's history so it rebuilds its KV
   * cache. With r ≥ 2 the last row of each chunk must equal the accepted output (with
   * r = 1 there is no accepted truth to hold it to: a mismatch could be either node's).
   */
  async #replay(seg: SegmentState, s: number, node: string, from: number, to: number): Promise<Attempt | { kind: 'ok' }> {
    const dim = this.#tr.spec.dim;
    let rewinds = 0; // a node that keeps claiming to have lost its cache is not replayed forever
    for (let start = from; start < to; ) {
      const end = Math.min(to, start + CHUNK_ROWS);
      const tokens = s === 0 && this.#remote;
      const o = await this.#t.request(node, this, { from: seg.from, to: seg.to, pos: start, rows: end - start, lastRow: true, tokens, payload: this.#hist[s].read(start, end) });
      if (!o.ok) {
        if (o.error.code !== 'INFER_KV_MISSING' || o.have >= start || ++rewinds > 2) return { kind: 'failed', out: o, at: this.#t.now() };
        start = o.have;
        continue;
      }
      if (this.#r > 1) {
        const expected = payloadChecksum(floatsToBytes(this.#hist[s + 1].read(end - 1, end)));
        if (o.checksum !== expected || o.hidden.length !== dim) return { kind: 'disagree', checksum: o.checksum, expected };
      }
      seg.have.set(node, end);
      start = end;
    }
    return { kind: 'ok' };
  }
}
