/**
 * Proof-of-π admission (spec §8.1, Sybil and DoS): the proof this node shows in its
 * announces, re-solved at every epoch, and the check it applies to everyone else's.
 */
import { fromBase64, toBase64, type Identity } from './crypto/index.js';
import { KpcError, isKpcError } from './errors.js';
import type { Admission } from './mesh/discovery.js';
import { DEFAULT_EPOCH_MS, DEFAULT_MAX_CLOCK_SKEW_MS, PowSolver, decodePowProof, encodePowProof, epochOf, proofExpiry, verifyProof } from './pow/index.js';
import type { Runtime, TimerHandle } from './runtime.js';

/** A cluster's admission settings; every node of the cluster must use the same. */
export interface AdmissionSettings {
  /** Leading zero bits every proof must have. Default `DEFAULT_DIFFICULTY` (19). */
  difficulty?: number;
  /** Epoch length: a proof is good for its epoch and the next. Default one hour. */
  epochMs?: number;
  /** Clock skew tolerated at epoch boundaries. Default `DEFAULT_MAX_CLOCK_SKEW_MS` (60 s). */
  maxClockSkewMs?: number;
}

/** How soon a failed re-solve is tried again, ms. */
const RETRY_MS = 5_000;

/** This node's side of admission: solves its proof (in a Worker) and checks peers'. */
export class AdmissionTicket implements Admission {
  private text: string | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly identity: Identity,
    private readonly clusterId: string,
    private readonly settings: AdmissionSettings,
    private readonly rt: Runtime,
  ) {}

  /** Solves this epoch's proof, and schedules the next epoch's. */
  async solve(): Promise<void> {
    const epochMs = this.settings.epochMs ?? DEFAULT_EPOCH_MS;
    const epoch = epochOf(this.rt.now(), epochMs);
    const solver = new PowSolver();
    try {
      const proof = await solver.solve({ publicKey: this.identity.publicKey, clusterId: this.clusterId, epoch, difficulty: this.settings.difficulty });
      this.text = toBase64(encodePowProof(proof));
    } finally {
      solver.terminate();
    }
    this.schedule((epoch + 1) * epochMs - this.rt.now() + 1);
  }

  /** Stops re-solving (a solve in flight finishes, but schedules nothing). */
  close(): void {
    this.closed = true;
    this.rt.clearTimeout(this.timer);
  }

  // A failed re-solve is retried soon: the old proof lasts one more epoch, and peers
  // drop a node whose proof lapses.
  private schedule(ms: number): void {
    if (this.closed) return;
    this.rt.clearTimeout(this.timer);
    this.timer = this.rt.setTimeout(() => void this.solve().catch(() => this.schedule(RETRY_MS)), ms);
  }

  proofText(): string | undefined {
    return this.text;
  }

  verify(publicKey: Uint8Array, text: string | undefined): number {
    if (!text) throw new KpcError('POW_INVALID', 'no proof-of-π in the announce');
    let proof;
    try {
      proof = decodePowProof(fromBase64(text));
    } catch (err) {
      throw isKpcError(err) ? err : new KpcError('POW_MALFORMED', String(err));
    }
    const { epochMs = DEFAULT_EPOCH_MS, maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS, difficulty } = this.settings;
    verifyProof(proof, { publicKey, clusterId: this.clusterId, now: this.rt.now(), epochMs, minDifficulty: difficulty, maxClockSkewMs });
    return proofExpiry(proof.epoch, epochMs, maxClockSkewMs);
  }
}
