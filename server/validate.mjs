// @ts-check
/**
 * Limits, option resolution and frame validation for the kpc signaling server.
 *
 * Kept apart from the networking code so each rule is a pure function that can be
 * unit-tested without sockets, and so the server file reads as "what happens to a
 * connection" rather than "what is a valid frame".
 *
 * @module
 */
import { normalizeServerUrl } from './admission.mjs';

/**
 * Every knob of the server. All fields are optional in {@link SignalingServerOptions};
 * {@link resolveOptions} fills in {@link DEFAULTS}.
 *
 * @typedef {object} Limits
 * @property {number} maxFrameBytes Largest accepted incoming frame, in bytes (ws `maxPayload`).
 * @property {number} maxTopicsPerConnection Most topics one connection may be subscribed to at once.
 * @property {number} maxTopicLength Longest topic name, in UTF-16 code units.
 * @property {number} maxConnections Most simultaneous WebSocket connections; more get HTTP 503.
 * @property {number} badFrameLimit Bad frames tolerated per window; one more closes with 1008.
 * @property {number} badFrameWindowMs Length of that sliding window.
 * @property {number} messagesPerSecond Sustained per-connection message rate (token bucket refill).
 * @property {number} messageBurst Token bucket size: messages a connection may send in a burst.
 * @property {number} maxBufferedBytes Outgoing backlog per connection before it is dropped as a slow consumer.
 * @property {number} pingIntervalMs Server→client WebSocket ping period; no pong by the next one → terminated.
 * @property {number} shutdownTimeoutMs How long `close()` waits for close handshakes before terminating.
 */

/**
 * `(level, msg, ctx) => void`. Called for every notable event; must not throw.
 * @typedef {(level: LogLevel, msg: string, ctx?: Record<string, unknown>) => void} Logger
 */

/** @typedef {'debug' | 'info' | 'warn' | 'error'} LogLevel */

/**
 * Options of `startSignalingServer`.
 * @typedef {Partial<Limits> & {
 *   host?: string,
 *   port?: number,
 *   log?: Logger | false,
 *   admission?: AdmissionOptions | null | false,
 * }} SignalingServerOptions
 */

/**
 * Proof-of-π admission (off unless given; docs/signaling.md, "Proof-of-π admission at
 * the server"). With it, every connection gets a `kpc-challenge` and may publish only
 * after a valid `kpc-admit`, and only on its admitted cluster's topics.
 * @typedef {object} AdmissionOptions
 * @property {number} difficulty least accepted proof difficulty, leading zero bits (0..64)
 * @property {number} [epochMs] epoch length, as the cluster uses it (default 3 600 000)
 * @property {number} [maxClockSkewMs] clock skew tolerated at epoch boundaries (default 60 000)
 * @property {import('./admission.mjs').AdmissionVerifier} [verify] proof check; default: built from kpc's dist/node/pow.js
 * @property {number} [maxConnectionsPerKey] admitted connections per public key at once (default 4)
 * @property {number} [admitTimeoutMs] a connection not admitted this long after its challenge (or after its admission lapsed) is closed with 1008 (default 30 000)
 * @property {string[]} [urls] this server's public URLs (ws:/wss:); when given, the URL a client signed must be one of them, so an admit cannot be relayed from another server
 * @property {string[]} [clusters] when given, only proofs for these cluster ids are admitted
 */

/**
 * {@link AdmissionOptions} with defaults filled in.
 * @typedef {object} ResolvedAdmission
 * @property {number} difficulty
 * @property {number} epochMs
 * @property {number} maxClockSkewMs
 * @property {import('./admission.mjs').AdmissionVerifier | undefined} verify
 * @property {number} maxConnectionsPerKey
 * @property {number} admitTimeoutMs
 * @property {Set<string> | null} urls normalized (see normalizeServerUrl)
 * @property {Set<string> | null} clusters
 */

/**
 * The defaults. Sized for a public server: a y-webrtc/kpc signaling frame (SDP offer,
 * ICE candidate, signed announce) is a few KiB, so 64 KiB leaves ample headroom while
 * bounding the memory one frame can cost when fanned out to a whole topic.
 * @type {Readonly<Limits>}
 */
export const DEFAULTS = Object.freeze({
  maxFrameBytes: 64 * 1024,
  maxTopicsPerConnection: 64,
  maxTopicLength: 256,
  maxConnections: 10_000,
  badFrameLimit: 20,
  badFrameWindowMs: 60_000,
  // A peer joining a busy room trickles ICE candidates to every other peer through
  // `publish`, so bursts of a few hundred are legitimate; sustained floods are not.
  messagesPerSecond: 100,
  messageBurst: 300,
  maxBufferedBytes: 4 * 1024 * 1024,
  pingIntervalMs: 30_000,
  shutdownTimeoutMs: 5_000,
});

/** Defaults of the optional {@link AdmissionOptions} fields. */
export const ADMISSION_DEFAULTS = Object.freeze({
  epochMs: 3_600_000,
  maxClockSkewMs: 60_000,
  maxConnectionsPerKey: 4,
  admitTimeoutMs: 30_000,
});

/** Largest proof-of-π difficulty (src/pow MAX_DIFFICULTY). */
const MAX_DIFFICULTY = 64;
/** Encoded proof-of-π sizes (src/pow codec): 52 fixed bytes + 1..384 bytes of cluster id. */
export const MIN_PROOF_BYTES = 53;
export const MAX_PROOF_BYTES = 436;
/** Longest `url` in a `kpc-admit`, UTF-16 code units. */
export const MAX_ADMIT_URL_LENGTH = 1024;

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8787;

/**
 * Codes carried by `{type:'error', code, message}` frames.
 * - `bad-json`: not UTF-8 JSON, or not a JSON object.
 * - `oversize`: frame larger than `maxFrameBytes` (normally the WebSocket layer already
 *   closed the connection with 1009; this is the second line of defence).
 * - `unknown-type`: `type` is a string but not subscribe/unsubscribe/publish/ping.
 * - `bad-field`: a field has the wrong type or shape (missing `type`, `topics` not an
 *   array of strings, empty topic, payload too deeply nested to relay, …).
 * - `topic-too-long`: a topic name exceeds `maxTopicLength`.
 * - `too-many-topics`: the subscription would exceed `maxTopicsPerConnection`.
 * - `rate-limited`: the connection exceeded its message rate; the frame was dropped.
 * - `internal`: the server failed on this frame (a bug); other connections are unaffected.
 * - `not-admitted`: (admission on) a `publish` from a connection that is not, or no
 *   longer, admitted.
 * - `wrong-cluster`: (admission on) a `publish` on a topic outside the connection's
 *   admitted cluster.
 * - `admit-failed`: a `kpc-admit` that was refused (proof, signature, URL or cluster), or
 *   one sent to a server without admission.
 * - `too-many-admissions`: the key already has `maxConnectionsPerKey` admitted connections.
 */
export const ERROR_CODES = Object.freeze(/** @type {const} */ ([
  'bad-json', 'oversize', 'unknown-type', 'bad-field', 'topic-too-long', 'too-many-topics', 'rate-limited', 'internal',
  'not-admitted', 'wrong-cluster', 'admit-failed', 'too-many-admissions',
]));

/** @typedef {typeof ERROR_CODES[number]} ErrorCode */

/**
 * A frame that passed validation. `publish` keeps every other field untouched: the
 * server relays payloads it does not (and must not need to) understand.
 * A `kpc-admit` arrives with its key and signature decoded (checked to be canonical
 * base64 of the right length) and its proof still as text (checked to be canonical
 * base64 of a plausible proof size): the verifier decodes it.
 * @typedef {{ type: 'subscribe' | 'unsubscribe', topics: string[] }
 *   | { type: 'publish', topic: string, [k: string]: unknown }
 *   | { type: 'ping' }
 *   | AdmitMessage} ClientMessage
 */

/**
 * A validated `{type:'kpc-admit', key, proof, sig, url}`.
 * @typedef {{ type: 'kpc-admit', key: Uint8Array, proof: string, sig: Uint8Array, url: string }} AdmitMessage
 */

/** @typedef {{ ok: true, msg: ClientMessage } | { ok: false, code: ErrorCode, message: string }} ParseResult */

/** @param {unknown} v */
const isPosInt = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Fills defaults and rejects nonsensical values early (a typo in a CLI flag should fail
 * at start-up, not silently disable a limit: note ws treats `maxPayload: 0` as "no limit").
 * @param {SignalingServerOptions} [opts]
 * @returns {Limits & { host: string, port: number, log: Logger, admission: ResolvedAdmission | null }}
 * @throws {TypeError | RangeError} on an invalid option
 */
export function resolveOptions(opts = {}) {
  /** @type {Record<string, unknown>} */
  const o = { ...opts };
  const limits = /** @type {Limits} */ ({ ...DEFAULTS });
  for (const key of /** @type {(keyof Limits)[]} */ (Object.keys(DEFAULTS))) {
    const v = o[key];
    if (v === undefined) continue;
    if (!isPosInt(v)) throw new RangeError(`signaling server option ${key} must be a positive integer, got ${String(v)}`);
    limits[key] = /** @type {number} */ (v);
  }
  const host = opts.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host === '') throw new TypeError('signaling server option host must be a non-empty string');
  const port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`signaling server option port must be 0..65535, got ${String(port)}`);
  const log = opts.log === false ? silentLogger : (opts.log ?? defaultLogger);
  if (typeof log !== 'function') throw new TypeError('signaling server option log must be a function or false');
  return { ...limits, host, port, log, admission: resolveAdmission(opts.admission) };
}

/**
 * Fills the admission defaults; null when admission is off (absent, null or false).
 * @param {AdmissionOptions | null | false | undefined} a
 * @returns {ResolvedAdmission | null}
 * @throws {TypeError | RangeError} on an invalid field
 */
export function resolveAdmission(a) {
  if (a === undefined || a === null || a === false) return null;
  if (typeof a !== 'object') throw new TypeError('signaling server option admission must be an object');
  const d = a.difficulty;
  if (!Number.isInteger(d) || d < 0 || d > MAX_DIFFICULTY) {
    throw new RangeError(`admission.difficulty must be an integer in 0..${MAX_DIFFICULTY}, got ${String(d)}`);
  }
  /** @type {Record<string, number>} */
  const n = { ...ADMISSION_DEFAULTS };
  for (const key of /** @type {(keyof typeof ADMISSION_DEFAULTS)[]} */ (Object.keys(ADMISSION_DEFAULTS))) {
    const v = a[key];
    if (v === undefined) continue;
    const ok = key === 'maxClockSkewMs' ? Number.isSafeInteger(v) && v >= 0 : isPosInt(v);
    if (!ok) throw new RangeError(`admission.${key} must be a ${key === 'maxClockSkewMs' ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
    n[key] = v;
  }
  if (a.verify !== undefined && typeof a.verify !== 'function') throw new TypeError('admission.verify must be a function');
  return {
    difficulty: d,
    epochMs: n.epochMs,
    maxClockSkewMs: n.maxClockSkewMs,
    maxConnectionsPerKey: n.maxConnectionsPerKey,
    admitTimeoutMs: n.admitTimeoutMs,
    verify: a.verify,
    urls: a.urls === undefined ? null : stringSet(a.urls, 'admission.urls', (u) => {
      const norm = normalizeServerUrl(u);
      if (norm === null) throw new TypeError(`admission.urls: ${JSON.stringify(u)} is not a ws: or wss: URL`);
      return norm;
    }),
    clusters: a.clusters === undefined ? null : stringSet(a.clusters, 'admission.clusters', (c) => {
      if (c.length > 128) throw new RangeError('admission.clusters: a cluster id is at most 128 characters');
      return c;
    }),
  };
}

/**
 * @param {unknown} list
 * @param {string} name
 * @param {(s: string) => string} map
 * @returns {Set<string>}
 */
function stringSet(list, name, map) {
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
    throw new TypeError(`${name} must be a non-empty array of non-empty strings`);
  }
  return new Set(list.map(map));
}

/** @type {Logger} */
export const silentLogger = () => {};

/**
 * JSON lines on stderr, warn and error only: quiet in normal operation, and a log
 * shipper can parse every line.
 * @type {Logger}
 */
export const defaultLogger = (level, msg, ctx) => {
  if (level !== 'warn' && level !== 'error') return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...ctx })}\n`);
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Validates a topics array: an array of non-empty strings no longer than `maxTopicLength`,
 * at most `maxTopicsPerConnection` of them (a longer array can never fit).
 * @param {unknown} topics
 * @param {Limits} limits
 * @returns {{ ok: true, topics: string[] } | { ok: false, code: ErrorCode, message: string }}
 */
function checkTopics(topics, limits) {
  if (!Array.isArray(topics)) return { ok: false, code: 'bad-field', message: 'topics must be an array of strings' };
  if (topics.length > limits.maxTopicsPerConnection) {
    return { ok: false, code: 'too-many-topics', message: `at most ${limits.maxTopicsPerConnection} topics per connection` };
  }
  for (const t of topics) {
    const bad = checkTopic(t, limits, 'topics[]');
    if (bad) return bad;
  }
  return { ok: true, topics: /** @type {string[]} */ (topics) };
}

/**
 * @param {unknown} t
 * @param {Limits} limits
 * @param {string} field name used in the error message
 * @returns {{ ok: false, code: ErrorCode, message: string } | null} null when valid
 */
function checkTopic(t, limits, field) {
  if (typeof t !== 'string' || t === '') return { ok: false, code: 'bad-field', message: `${field} must be a non-empty string` };
  if (t.length > limits.maxTopicLength) {
    return { ok: false, code: 'topic-too-long', message: `${field} longer than ${limits.maxTopicLength} characters` };
  }
  return null;
}

/**
 * Turns one received WebSocket message into a {@link ClientMessage} or an error.
 * Binary frames are accepted when they hold UTF-8 JSON, because y-webrtc's server
 * accepts them too; replies are always text frames.
 * @param {Buffer | ArrayBuffer | Buffer[]} data as delivered by ws
 * @param {Limits} limits
 * @returns {ParseResult}
 */
export function parseFrame(data, limits) {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  // ws already enforces maxPayload; re-checking keeps the limit true even if that layer
  // is misconfigured or changes behaviour, and costs one comparison.
  if (bytes.byteLength > limits.maxFrameBytes) {
    return { ok: false, code: 'oversize', message: `frame larger than ${limits.maxFrameBytes} bytes` };
  }
  /** @type {unknown} */
  let m;
  try {
    m = JSON.parse(utf8.decode(bytes));
  } catch {
    return { ok: false, code: 'bad-json', message: 'frame is not valid UTF-8 JSON' };
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    return { ok: false, code: 'bad-json', message: 'frame must be a JSON object' };
  }
  const msg = /** @type {Record<string, unknown>} */ (m);
  if (typeof msg.type !== 'string') return { ok: false, code: 'bad-field', message: 'type must be a string' };
  switch (msg.type) {
    case 'subscribe':
    case 'unsubscribe': {
      const r = checkTopics(msg.topics, limits);
      return r.ok ? { ok: true, msg: { type: msg.type, topics: r.topics } } : r;
    }
    case 'publish': {
      const bad = checkTopic(msg.topic, limits, 'topic');
      return bad ?? { ok: true, msg: /** @type {ClientMessage} */ (msg) };
    }
    case 'ping':
      return { ok: true, msg: { type: 'ping' } };
    case 'kpc-admit':
      return parseAdmit(msg);
    default:
      return { ok: false, code: 'unknown-type', message: `unknown type ${JSON.stringify(msg.type.slice(0, 32))}` };
  }
}

const ADMIT_FIELDS = new Set(['type', 'key', 'proof', 'sig', 'url']);
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes canonical, padded standard base64 (what kpc's toBase64 writes) of
 * `min..max` bytes; null for anything else (wrong type or length, other alphabets,
 * whitespace, non-zero padding bits).
 * @param {unknown} text
 * @param {number} min
 * @param {number} max
 * @returns {Uint8Array | null}
 */
export function decodeBase64(text, min, max) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || text.length > 4 * Math.ceil(max / 3)) return null;
  if (!BASE64_RE.test(text)) return null;
  const buf = Buffer.from(text, 'base64');
  if (buf.length < min || buf.length > max || buf.toString('base64') !== text) return null;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * Strict shape of `{type:'kpc-admit', key, proof, sig, url}`: exactly these fields, the
 * key 32 bytes, the signature 64, the proof a plausible encoded proof, the URL a
 * non-empty string. Whether any of it is *valid* is for the server to check.
 * @param {Record<string, unknown>} msg
 * @returns {ParseResult}
 */
function parseAdmit(msg) {
  for (const k of Object.keys(msg)) {
    if (!ADMIT_FIELDS.has(k)) return { ok: false, code: 'bad-field', message: `kpc-admit: unexpected field ${JSON.stringify(k.slice(0, 32))}` };
  }
  const key = decodeBase64(msg.key, 32, 32);
  if (!key) return { ok: false, code: 'bad-field', message: 'kpc-admit: key must be base64 of 32 bytes' };
  const sig = decodeBase64(msg.sig, 64, 64);
  if (!sig) return { ok: false, code: 'bad-field', message: 'kpc-admit: sig must be base64 of 64 bytes' };
  if (!decodeBase64(msg.proof, MIN_PROOF_BYTES, MAX_PROOF_BYTES)) {
    return { ok: false, code: 'bad-field', message: `kpc-admit: proof must be base64 of ${MIN_PROOF_BYTES}..${MAX_PROOF_BYTES} bytes` };
  }
  const url = msg.url;
  if (typeof url !== 'string' || url === '' || url.length > MAX_ADMIT_URL_LENGTH) {
    return { ok: false, code: 'bad-field', message: `kpc-admit: url must be a string of 1..${MAX_ADMIT_URL_LENGTH} characters` };
  }
  return { ok: true, msg: { type: 'kpc-admit', key, proof: /** @type {string} */ (msg.proof), sig, url } };
}

/**
 * A token bucket: `rate` tokens per second up to `burst`. Time is passed in so tests
 * (and the server) decide the clock.
 */
export class TokenBucket {
  /**
   * @param {number} rate tokens added per second
   * @param {number} burst bucket capacity (and initial fill)
   * @param {number} now milliseconds
   */
  constructor(rate, burst, now) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Takes one token if available.
   * @param {number} now milliseconds
   * @returns {boolean} false when the caller is over its rate
   */
  take(now) {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Counts events in a sliding window. Stores at most `limit + 1` timestamps, so an abusive
 * connection cannot grow it.
 */
export class WindowCounter {
  /**
   * @param {number} limit events tolerated per window
   * @param {number} windowMs window length
   */
  constructor(limit, windowMs) {
    this.limit = limit;
    this.windowMs = windowMs;
    /** @type {number[]} */
    this.times = [];
  }

  /**
   * Records one event.
   * @param {number} now milliseconds
   * @returns {boolean} true when the window now holds more than `limit` events
   */
  hit(now) {
    const cutoff = now - this.windowMs;
    while (this.times.length > 0 && /** @type {number} */ (this.times[0]) <= cutoff) this.times.shift();
    this.times.push(now);
    if (this.times.length > this.limit + 1) this.times.shift();
    return this.times.length > this.limit;
  }
}
