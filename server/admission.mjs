// @ts-check
/**
 * Proof-of-π admission at the signaling server (docs/signaling.md, "Proof-of-π
 * admission at the server").
 *
 * Pure helpers, no sockets: the signed challenge message, the Ed25519 check of a
 * `kpc-admit`, which topics belong to a cluster, when an admission ends, and the bridge
 * to a proof-of-π verifier. The verifier itself is not here: the server must not load
 * TypeScript, so it is either injected (`admission.verify`) or built from a JS module
 * exporting `decodePowProof` and `verifyProof` (kpc's `dist/node/pow.js`, built by
 * `npm run build` from src/pow).
 *
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';

/** Domain separation of the admit signature; no other kpc signing domain starts like it. */
export const ADMIT_CONTEXT = 'kpc/signal-admit/v1';
/** Bytes of the server's challenge nonce. */
export const ADMIT_NONCE_BYTES = 32;
/**
 * Topic prefix of a cluster, as src/mesh/discovery.ts names topics: the cluster topic is
 * `kpc/v1/<clusterId>`, a node's direct topic `kpc/v1/<clusterId>/<nodeId>`.
 */
export const CLUSTER_TOPIC_PREFIX = 'kpc/v1/';
const NODE_ID_RE = /^[0-9a-f]{32}$/;

/** Default module the CLI and `startSignalingServer` load verification from. */
export const DEFAULT_POW_MODULE = new URL('../dist/node/pow.js', import.meta.url).href;

const utf8 = new TextEncoder();

/**
 * What the client signs: `utf8(ADMIT_CONTEXT) ‖ nonce (32 bytes) ‖ utf8(url)`. The nonce
 * has a fixed length, so the concatenation is unambiguous.
 * @param {Uint8Array} nonce the server's challenge
 * @param {string} url the server URL as the client dialled it
 * @returns {Uint8Array}
 */
export function admitMessage(nonce, url) {
  const ctx = utf8.encode(ADMIT_CONTEXT);
  const u = utf8.encode(url);
  const out = new Uint8Array(ctx.length + nonce.length + u.length);
  out.set(ctx, 0);
  out.set(nonce, ctx.length);
  out.set(u, ctx.length + nonce.length);
  return out;
}

/**
 * Whether `sig` is a strict (RFC 8032, not ZIP-215) Ed25519 signature by `key` over
 * {@link admitMessage}(nonce, url). Never throws.
 * @param {Uint8Array} key 32-byte public key
 * @param {Uint8Array} nonce
 * @param {string} url
 * @param {Uint8Array} sig 64-byte signature
 * @returns {boolean}
 */
export function verifyAdmitSignature(key, nonce, url, sig) {
  if (key.length !== 32 || sig.length !== 64 || nonce.length !== ADMIT_NONCE_BYTES) return false;
  try {
    return ed25519.verify(sig, admitMessage(nonce, url), key, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Whether `topic` is one of `clusterId`'s topics: the cluster topic, or a direct topic
 * (`/` and a 32-hex node id after it). Checked against a known cluster, so cluster ids
 * that themselves contain `/` cause no ambiguity here; the server additionally relays
 * only between connections admitted to the same cluster.
 * @param {string} topic
 * @param {string} clusterId
 * @returns {boolean}
 */
export function topicInCluster(topic, clusterId) {
  const base = CLUSTER_TOPIC_PREFIX + clusterId;
  if (topic === base) return true;
  return topic.length === base.length + 33 && topic.startsWith(base) && topic[base.length] === '/' && NODE_ID_RE.test(topic.slice(base.length + 1));
}

/**
 * First instant (ms) at which `verifyProof` (with its default `acceptPreviousEpoch`)
 * refuses a proof of `epoch`: it accepts epochs ≥ ⌊(now − skew)/epochMs⌋ − 1, so the
 * proof lapses once now − skew ≥ (epoch + 2)·epochMs.
 * @param {number} epoch
 * @param {number} epochMs
 * @param {number} maxClockSkewMs
 * @returns {number}
 */
export function admissionExpiry(epoch, epochMs, maxClockSkewMs) {
  return (epoch + 2) * epochMs + maxClockSkewMs;
}

/**
 * Parameters the server passes to its verifier on every admit.
 * @typedef {object} AdmissionVerifyParams
 * @property {number} difficulty least accepted difficulty (leading zero bits)
 * @property {number} epochMs epoch length
 * @property {number} maxClockSkewMs clock skew tolerated at epoch boundaries
 */

/**
 * Checks a proof-of-π (the base64 text carried in ANNOUNCE) for `publicKey` at `now`
 * and returns the cluster and epoch it is bound to. Must throw on anything invalid
 * (malformed, wrong key, expired, from the future, too easy, bad hash).
 * @typedef {(proofText: string, publicKey: Uint8Array, now: number, params: AdmissionVerifyParams) => { clusterId: string, epoch: number }} AdmissionVerifier
 */

/**
 * The subset of kpc's src/pow (or dist/node/pow.js) the server uses.
 * @typedef {object} PowModule
 * @property {(bytes: Uint8Array) => { clusterId: string, epoch: number }} decodePowProof
 * @property {(proof: any, options: { publicKey: Uint8Array, clusterId: string, now: number, epochMs?: number, minDifficulty?: number, maxClockSkewMs?: number }) => unknown} verifyProof
 */

/**
 * An {@link AdmissionVerifier} from kpc's proof-of-π module: decodes the proof, verifies
 * it against the key, its own cluster and the server's difficulty and epoch settings.
 * The text was already checked to be canonical base64 by `parseFrame`.
 * @param {PowModule} pow
 * @returns {AdmissionVerifier}
 */
export function powVerifier(pow) {
  if (typeof pow?.decodePowProof !== 'function' || typeof pow?.verifyProof !== 'function') {
    throw new TypeError('proof-of-π module must export decodePowProof and verifyProof');
  }
  return (proofText, publicKey, now, { difficulty, epochMs, maxClockSkewMs }) => {
    const proof = pow.decodePowProof(new Uint8Array(Buffer.from(proofText, 'base64')));
    pow.verifyProof(proof, { publicKey, clusterId: proof.clusterId, now, epochMs, minDifficulty: difficulty, maxClockSkewMs });
    return { clusterId: proof.clusterId, epoch: proof.epoch };
  };
}

/**
 * Loads {@link powVerifier} from a module (default kpc's built `dist/node/pow.js`).
 * @param {string} [specifier] module URL, path or package specifier
 * @returns {Promise<AdmissionVerifier>}
 * @throws {Error} naming the module and `npm run build` when it cannot be loaded
 */
export async function loadPowVerifier(specifier = DEFAULT_POW_MODULE) {
  /** @type {PowModule} */
  let mod;
  try {
    mod = await import(specifier);
  } catch (err) {
    throw new Error(`proof-of-π admission needs ${specifier} (run \`npm run build\`): ${err instanceof Error ? err.message : String(err)}`);
  }
  return powVerifier(mod);
}

/**
 * Canonical form of a server URL for comparing what a client signed with the server's
 * configured public URLs: scheme, host (lowercase, default port dropped) and path without
 * trailing slashes; query and fragment ignored. Null for anything but a ws:/wss: URL.
 * @param {string} url
 * @returns {string | null}
 */
export function normalizeServerUrl(url) {
  /** @type {URL} */
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return null;
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}
