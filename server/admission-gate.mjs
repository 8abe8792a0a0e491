// @ts-check
/**
 * The server's side of proof-of-π admission, per connection (docs/signaling.md,
 * "Proof-of-π admission at the server"): the challenge, the admit check, the per-key
 * cap, and expiry followed by a fresh challenge. The protocol pieces it uses (URL
 * normalisation, the signed message, expiry arithmetic) are in admission.mjs.
 * @module
 */
import { WebSocket } from 'ws';
import { admissionExpiry, normalizeServerUrl, verifyAdmitSignature } from './admission.mjs';

/** @import { AdmitMessage, Logger, ResolvedAdmission, ErrorCode } from './validate.mjs' */
/** @import { AdmissionVerifier } from './admission.mjs' */

/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** RFC 6455 policy-violation close code. */
const CLOSE_POLICY = 1008;

/**
 * A connection's admission.
 * @typedef {object} Admitted
 * @property {string} key base64 public key, the per-key cap's index
 * @property {string} clusterId the cluster its proof is bound to
 * @property {number} expiresAt ms; from then on the proof no longer verifies
 */

/**
 * What the gate needs of a connection.
 * @typedef {object} GatedClient
 * @property {number} id
 * @property {string} ip
 * @property {WebSocket} ws
 * @property {Uint8Array | null} nonce this connection's challenge (null when admission is off)
 * @property {Admitted | null} admitted current admission, if any
 * @property {NodeJS.Timeout | undefined} admitTimer admission deadline (not admitted) or expiry (admitted)
 */

/**
 * What the gate needs of the server.
 * @typedef {object} GateHost
 * @property {ResolvedAdmission} adm
 * @property {AdmissionVerifier} checkProof
 * @property {Logger} log
 * @property {(client: GatedClient, frame: string) => void} send
 * @property {(client: GatedClient, code: ErrorCode, message: string) => void} badFrame
 */

/**
 * Admission state of every connection of one server.
 * @param {GateHost} host
 */
export function createAdmissionGate({ adm, checkProof, log, send, badFrame }) {
  /** @type {Map<string, Set<GatedClient>>} base64 public key → its admitted connections */
  const admittedByKey = new Map();
  let admittedCount = 0;

  /**
   * Sends the connection's challenge (on connect, and again when its admission lapses)
   * and gives it `admitTimeoutMs` to answer. The nonce stays the same for the life of
   * the connection: it only has to make a signature worthless on any other connection.
   * @param {GatedClient} client
   */
  function challenge(client) {
    if (!client.nonce) return;
    send(client, JSON.stringify({ type: 'kpc-challenge', nonce: Buffer.from(client.nonce).toString('base64'), difficulty: adm.difficulty }));
    clearTimeout(client.admitTimer);
    client.admitTimer = setTimeout(() => {
      if (client.admitted || client.ws.readyState !== WebSocket.OPEN) return;
      log('info', 'not admitted in time, closing', { conn: client.id, ip: client.ip, timeoutMs: adm.admitTimeoutMs });
      client.ws.close(CLOSE_POLICY, 'not admitted');
    }, adm.admitTimeoutMs);
    client.admitTimer.unref();
  }

  /**
   * Checks a `kpc-admit`, cheapest first: the URL, the proof (two hashes), the
   * signature over this connection's nonce (one Ed25519 verification), then the per-key
   * cap. A refused admit leaves an existing admission of the connection as it was.
   * @param {GatedClient} client
   * @param {AdmitMessage} msg
   */
  function admit(client, msg) {
    if (!client.nonce) {
      badFrame(client, 'admit-failed', 'admission is not enabled on this server');
      return;
    }
    if (adm.urls) {
      const url = normalizeServerUrl(msg.url);
      if (url === null || !adm.urls.has(url)) {
        badFrame(client, 'admit-failed', 'the signed url is not this server');
        return;
      }
    }
    const now = Date.now();
    /** @type {{ clusterId: string, epoch: number }} */
    let proof;
    try {
      proof = checkProof(msg.proof, msg.key, now, { difficulty: adm.difficulty, epochMs: adm.epochMs, maxClockSkewMs: adm.maxClockSkewMs });
    } catch (err) {
      const code = /** @type {{ code?: unknown }} */ (err)?.code;
      badFrame(client, 'admit-failed', `proof refused: ${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}`.slice(0, 200));
      return;
    }
    if (typeof proof?.clusterId !== 'string' || !Number.isSafeInteger(proof.epoch) || proof.epoch < 0) {
      throw new TypeError('admission verify returned no { clusterId, epoch }');
    }
    if (adm.clusters && !adm.clusters.has(proof.clusterId)) {
      badFrame(client, 'admit-failed', 'this server does not admit that cluster');
      return;
    }
    const expiresAt = admissionExpiry(proof.epoch, adm.epochMs, adm.maxClockSkewMs);
    if (expiresAt <= now) {
      // Only reachable with an injected verifier laxer than verifyProof.
      badFrame(client, 'admit-failed', 'proof refused: expired');
      return;
    }
    if (!verifyAdmitSignature(msg.key, client.nonce, msg.url, msg.sig)) {
      badFrame(client, 'admit-failed', 'signature over this connection\'s challenge does not verify');
      return;
    }
    const key = Buffer.from(msg.key).toString('base64');
    const holders = admittedByKey.get(key);
    if (holders && !holders.has(client) && holders.size >= adm.maxConnectionsPerKey) {
      badFrame(client, 'too-many-admissions', `at most ${adm.maxConnectionsPerKey} admitted connections per key`);
      return;
    }
    if (client.admitted && client.admitted.key !== key) revoke(client);
    if (!client.admitted) admittedCount++;
    client.admitted = { key, clusterId: proof.clusterId, expiresAt };
    let set = admittedByKey.get(key);
    if (!set) admittedByKey.set(key, (set = new Set()));
    set.add(client);
    armExpiry(client);
    log('debug', 'admitted', { conn: client.id, ip: client.ip, cluster: proof.clusterId, expiresAt });
    send(client, JSON.stringify({ type: 'kpc-admitted', cluster: proof.clusterId, expires: expiresAt }));
  }

  /**
   * Ends the admission when its proof lapses, and challenges the connection again.
   * @param {GatedClient} client
   */
  function armExpiry(client) {
    clearTimeout(client.admitTimer);
    const a = client.admitted;
    if (!a) return;
    client.admitTimer = setTimeout(() => {
      if (client.admitted !== a || client.ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() < a.expiresAt) {
        armExpiry(client); // a long epoch: more than one timer's worth
        return;
      }
      revoke(client);
      log('debug', 'admission expired', { conn: client.id, ip: client.ip });
      challenge(client);
    }, Math.min(MAX_TIMER_MS, Math.max(0, a.expiresAt - Date.now())));
    client.admitTimer.unref();
  }

  /**
   * Forgets a connection's admission (and its slot in the per-key cap).
   * @param {GatedClient} client
   */
  function revoke(client) {
    const a = client.admitted;
    if (!a) return;
    client.admitted = null;
    admittedCount--;
    const set = admittedByKey.get(a.key);
    set?.delete(client);
    if (set?.size === 0) admittedByKey.delete(a.key);
  }

  /**
   * The connection's admission if it is current.
   * @param {GatedClient} client
   * @param {number} now
   * @returns {Admitted | null}
   */
  function currentAdmission(client, now) {
    const a = client.admitted;
    return a && now < a.expiresAt ? a : null;
  }

  return {
    challenge,
    admit,
    revoke,
    /** The connection's admission if it is current. */
    current: currentAdmission,
    /** Connections admitted now. */
    get count() {
      return admittedCount;
    },
  };
}
