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
 * }} SignalingServerOptions
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
 */
export const ERROR_CODES = Object.freeze(/** @type {const} */ ([
  'bad-json', 'oversize', 'unknown-type', 'bad-field', 'topic-too-long', 'too-many-topics', 'rate-limited', 'internal',
]));

/** @typedef {typeof ERROR_CODES[number]} ErrorCode */

/**
 * A frame that passed validation. `publish` keeps every other field untouched: the
 * server relays payloads it does not (and must not need to) understand.
 * @typedef {{ type: 'subscribe' | 'unsubscribe', topics: string[] }
 *   | { type: 'publish', topic: string, [k: string]: unknown }
 *   | { type: 'ping' }} ClientMessage
 */

/** @typedef {{ ok: true, msg: ClientMessage } | { ok: false, code: ErrorCode, message: string }} ParseResult */

/** @param {unknown} v */
const isPosInt = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Fills defaults and rejects nonsensical values early (a typo in a CLI flag should fail
 * at start-up, not silently disable a limit: note ws treats `maxPayload: 0` as "no limit").
 * @param {SignalingServerOptions} [opts]
 * @returns {Limits & { host: string, port: number, log: Logger }}
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
  return { ...limits, host, port, log };
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
    default:
      return { ok: false, code: 'unknown-type', message: `unknown type ${JSON.stringify(msg.type.slice(0, 32))}` };
  }
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
