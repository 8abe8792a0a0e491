// @ts-check
/**
 * The kpc signaling (bootstrap) server, spec §2.
 *
 * Speaks exactly the y-webrtc signaling protocol (JSON frames over WebSocket:
 * subscribe / unsubscribe / publish / ping), so y-webrtc clients work against it and
 * kpc clients work against y-webrtc's own server. What it adds is operational hardening:
 * bounded frames, topics, connections, message rate and send backlog; error frames for
 * bad input; a health endpoint; a clean shutdown; and, opt-in, proof-of-π admission
 * (`admission`): a connection publishes only after proving work for its key and cluster.
 *
 * The server is untrusted by design: it never interprets `publish` payloads, and peers
 * verify every signed message themselves (§8). Its job is only to be hard to knock over.
 *
 * See docs/signaling.md.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { loadPowVerifier, topicInCluster, ADMIT_NONCE_BYTES } from './admission.mjs';
import { createAdmissionGate } from './admission-gate.mjs';
import { parseFrame, resolveOptions, TokenBucket, WindowCounter } from './validate.mjs';

/** @import { IncomingMessage, ServerResponse } from 'node:http' */
/** @import { Duplex } from 'node:stream' */
/** @import { ErrorCode, SignalingServerOptions, ClientMessage } from './validate.mjs' */

export { ADMISSION_DEFAULTS, DEFAULTS, DEFAULT_HOST, DEFAULT_PORT, ERROR_CODES, defaultLogger, silentLogger } from './validate.mjs';
export { ADMIT_CONTEXT, admitMessage, loadPowVerifier, powVerifier } from './admission.mjs';

/**
 * Counters exposed by `stats()` and, minus nothing secret, by `GET /health`.
 * @typedef {object} SignalingStats
 * @property {number} connections open WebSocket connections
 * @property {number} topics topics with at least one subscriber
 * @property {number} uptimeS whole seconds since start
 * @property {number} messagesRelayed `publish` frames accepted and fanned out
 * @property {number} deliveries frames sent to subscribers by those publishes
 * @property {number} badFrames frames answered with an error frame
 * @property {number} rejectedConnections upgrades refused (full or shutting down)
 * @property {number} admitted connections currently admitted (0 when admission is off)
 */

/**
 * A running server.
 * @typedef {object} SignalingServer
 * @property {string} url `ws://host:port`, what clients connect to
 * @property {string} httpUrl `http://host:port`, for `/health`
 * @property {string} host the host it listens on
 * @property {number} port the actual port (useful with `port: 0`)
 * @property {() => SignalingStats} stats current counters
 * @property {() => Promise<void>} close stop accepting, close clients with 1001, resolve when the HTTP server is closed; idempotent
 */

/**
 * Per-connection state.
 * @typedef {object} Client
 * @property {number} id for logs
 * @property {string} ip remote address, for logs
 * @property {WebSocket} ws
 * @property {Set<string>} topics topics this connection is subscribed to
 * @property {boolean} alive saw a pong (or any frame) since the last ping
 * @property {TokenBucket} rate
 * @property {WindowCounter} bad
 * @property {Uint8Array | null} nonce admission challenge of this connection (null when admission is off)
 * @property {Admitted | null} admitted current admission, if any
 * @property {NodeJS.Timeout | undefined} admitTimer admission deadline (not admitted) or expiry (admitted)
 */

/** @import { Admitted } from './admission-gate.mjs' */

/** WebSocket close codes we send (RFC 6455 §7.4.1). */
const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY = 1008;

/**
 * Starts a signaling server and resolves once it is listening.
 * @param {SignalingServerOptions} [opts] limits and listen address; see docs/signaling.md for defaults
 * @returns {Promise<SignalingServer>}
 */
export async function startSignalingServer(opts = {}) {
  const cfg = resolveOptions(opts);
  const { log } = cfg;
  const adm = cfg.admission;
  // Loaded before listening, so a missing build fails start-up rather than the first admit.
  const checkProof = adm ? (adm.verify ?? (await loadPowVerifier())) : null;
  const gate = adm && checkProof ? createAdmissionGate({ adm, checkProof, log, send: (c, f) => send(/** @type {Client} */ (c), f), badFrame: (c, code, m) => badFrame(/** @type {Client} */ (c), code, m) }) : null;
  const startedAt = Date.now();

  /** @type {Map<string, Set<Client>>} topic → subscribers */
  const topics = new Map();
  /** @type {Set<Client>} */
  const clients = new Set();
  const counters = { messagesRelayed: 0, deliveries: 0, badFrames: 0, rejectedConnections: 0 };
  let nextId = 1;
  /** @type {Promise<void> | null} */
  let closing = null;

  /** @returns {SignalingStats} */
  const stats = () => ({
    connections: clients.size,
    topics: topics.size,
    uptimeS: Math.floor((Date.now() - startedAt) / 1000),
    ...counters,
    admitted: gate?.count ?? 0,
  });

  // Compression stays off: permessage-deflate lets a small frame inflate into a large
  // one (and costs CPU per message) for no gain on a few-KiB signaling exchange.
  const wss = new WebSocketServer({ noServer: true, maxPayload: cfg.maxFrameBytes, perMessageDeflate: false, clientTracking: false });

  const http = createServer(onRequest);
  // Malformed HTTP from one socket must not reach the default handler's noisy path.
  http.on('clientError', (_err, socket) => socket.destroy());
  http.on('upgrade', onUpgrade);

  /**
   * `/health` for load balancers and monitors; `/` answers y-webrtc's 'okay' so probes
   * written for y-webrtc's server keep working; anything else is 404.
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   */
  function onRequest(req, res) {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed');
    } else if (path === '/health') {
      const body = JSON.stringify({ status: closing ? 'closing' : 'ok', ...stats() });
      res.writeHead(closing ? 503 : 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
    } else if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('okay');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  }

  /**
   * Refuses the upgrade before any WebSocket state exists when full or shutting down:
   * a plain HTTP 503 costs less than accepting and then closing.
   * @param {IncomingMessage} req
   * @param {Duplex} socket
   * @param {Buffer} head
   */
  function onUpgrade(req, socket, head) {
    if (closing || clients.size >= cfg.maxConnections) {
      counters.rejectedConnections++;
      log('warn', closing ? 'upgrade refused: shutting down' : 'upgrade refused: max connections', { ip: req.socket.remoteAddress, max: cfg.maxConnections });
      socket.on('error', () => {});
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  }

  /**
   * @param {WebSocket} ws
   * @param {IncomingMessage} req
   */
  function onConnection(ws, req) {
    const now = Date.now();
    /** @type {Client} */
    const client = {
      id: nextId++,
      ip: req.socket.remoteAddress ?? '?',
      ws,
      topics: new Set(),
      alive: true,
      rate: new TokenBucket(cfg.messagesPerSecond, cfg.messageBurst, now),
      bad: new WindowCounter(cfg.badFrameLimit, cfg.badFrameWindowMs),
      nonce: adm ? new Uint8Array(randomBytes(ADMIT_NONCE_BYTES)) : null,
      admitted: null,
      admitTimer: undefined,
    };
    clients.add(client);
    log('debug', 'connected', { conn: client.id, ip: client.ip });
    // The challenge is the first frame on the connection, before any reply to the client.
    gate?.challenge(client);

    ws.on('pong', () => { client.alive = true; });
    ws.on('message', (data) => {
      // Any exception here would otherwise escape the emitter and kill the process,
      // taking every other connection with it.
      try {
        onFrame(client, /** @type {Buffer | ArrayBuffer | Buffer[]} */ (data));
      } catch (err) {
        log('error', 'frame handler failed', { conn: client.id, err: String(err) });
        sendError(client, 'internal', 'server error handling this frame');
      }
    });
    // ws reports protocol violations (oversize → 1009, bad UTF-8 → 1007, …) here and
    // closes the connection itself; without a listener the error would be thrown.
    ws.on('error', (err) => {
      log('warn', 'connection error', { conn: client.id, ip: client.ip, err: err.message });
    });
    ws.on('close', (code) => {
      clients.delete(client);
      clearTimeout(client.admitTimer);
      gate?.revoke(client);
      for (const t of client.topics) removeSubscriber(t, client);
      client.topics.clear();
      log('debug', 'disconnected', { conn: client.id, code });
    });
  }

  /**
   * @param {Client} client
   * @param {Buffer | ArrayBuffer | Buffer[]} data
   */
  function onFrame(client, data) {
    client.alive = true;
    if (client.ws.readyState !== WebSocket.OPEN) return;
    // Rate check before parsing: a flood should cost as little CPU as possible.
    if (!client.rate.take(Date.now())) {
      badFrame(client, 'rate-limited', `more than ${cfg.messagesPerSecond} messages per second`);
      return;
    }
    const r = parseFrame(data, cfg);
    if (!r.ok) {
      badFrame(client, r.code, r.message);
      return;
    }
    handle(client, r.msg);
  }

  /**
   * @param {Client} client
   * @param {ClientMessage} msg
   */
  function handle(client, msg) {
    switch (msg.type) {
      case 'subscribe': {
        const fresh = msg.topics.filter((t) => !client.topics.has(t));
        // All-or-nothing: a partial subscribe would leave the client unsure which
        // topics it actually has.
        if (new Set(fresh).size + client.topics.size > cfg.maxTopicsPerConnection) {
          badFrame(client, 'too-many-topics', `at most ${cfg.maxTopicsPerConnection} topics per connection`);
          return;
        }
        for (const t of fresh) {
          let subs = topics.get(t);
          if (!subs) topics.set(t, (subs = new Set()));
          subs.add(client);
          client.topics.add(t);
        }
        return;
      }
      case 'unsubscribe':
        // Unlike y-webrtc's server, also forget the topic on the connection and drop
        // empty topics, so neither map grows with churn.
        for (const t of msg.topics) {
          if (client.topics.delete(t)) removeSubscriber(t, client);
        }
        return;
      case 'publish':
        publish(client, msg);
        return;
      case 'ping':
        send(client, '{"type":"pong"}');
        return;
      case 'kpc-admit':
        if (gate) gate.admit(client, msg);
        else badFrame(client, 'admit-failed', 'admission is not enabled on this server');
    }
  }

  /**
   * Relays to every subscriber, the sender included if subscribed (as y-webrtc does),
   * with `clients` set to the subscriber count. The payload is opaque to us.
   * @param {Client} client
   * @param {ClientMessage & { type: 'publish' }} msg
   */
  function publish(client, msg) {
    const subscribers = topics.get(msg.topic);
    /** @type {Client[] | Set<Client> | undefined} */
    let receivers = subscribers;
    if (gate) {
      // Admission on: only admitted connections publish, only on their cluster's topics,
      // and only connections admitted to the same cluster receive.
      const now = Date.now();
      const a = gate.current(client, now);
      if (!a) {
        badFrame(client, 'not-admitted', 'publish before a valid kpc-admit (or after it expired)');
        return;
      }
      if (!topicInCluster(msg.topic, a.clusterId)) {
        badFrame(client, 'wrong-cluster', 'topic is not one of the admitted cluster\'s');
        return;
      }
      receivers = subscribers && [...subscribers].filter((r) => gate?.current(r, now)?.clusterId === a.clusterId);
    }
    if (!receivers) return;
    const count = Array.isArray(receivers) ? receivers.length : receivers.size;
    if (count === 0) return;
    /** @type {string} */
    let out;
    try {
      // Serialized once for all receivers. JSON.parse accepts nesting that
      // JSON.stringify cannot recurse through (a 64 KiB frame of `[[[[…`), so this can throw.
      out = JSON.stringify({ ...msg, clients: count });
    } catch {
      badFrame(client, 'bad-field', 'payload nested too deeply to relay');
      return;
    }
    const frame = Buffer.from(out);
    counters.messagesRelayed++;
    for (const r of [...receivers]) {
      if (send(r, frame)) counters.deliveries++;
    }
  }

  /**
   * Sends one text frame; drops a receiver whose unsent backlog exceeds the limit, since a
   * peer that stops reading would otherwise make us buffer every frame of its topics.
   * @param {Client} client
   * @param {string | Buffer} frame
   * @returns {boolean} whether it was queued
   */
  function send(client, frame) {
    const { ws } = client;
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > cfg.maxBufferedBytes) {
      log('warn', 'slow consumer dropped', { conn: client.id, ip: client.ip, buffered: ws.bufferedAmount });
      ws.terminate();
      return false;
    }
    ws.send(frame, { binary: false });
    return true;
  }

  /**
   * Answers a bad frame with an error frame, and closes the connection with 1008 once it
   * has sent more than `badFrameLimit` of them within `badFrameWindowMs`.
   * @param {Client} client
   * @param {ErrorCode} code
   * @param {string} message
   */
  function badFrame(client, code, message) {
    counters.badFrames++;
    if (client.bad.hit(Date.now())) {
      log('warn', 'closing abusive connection', { conn: client.id, ip: client.ip, code, limit: cfg.badFrameLimit });
      client.ws.close(CLOSE_POLICY, 'too many bad frames');
      return;
    }
    log('warn', 'bad frame', { conn: client.id, ip: client.ip, code, message });
    sendError(client, code, message);
  }

  /**
   * @param {Client} client
   * @param {ErrorCode} code
   * @param {string} message
   */
  function sendError(client, code, message) {
    send(client, JSON.stringify({ type: 'error', code, message }));
  }

  /**
   * @param {string} topic
   * @param {Client} client
   */
  function removeSubscriber(topic, client) {
    const subs = topics.get(topic);
    if (!subs) return;
    subs.delete(client);
    if (subs.size === 0) topics.delete(topic);
  }

  // One sweep for all connections rather than a timer each (y-webrtc's way): a client
  // that has not answered the previous ping is dead, and terminate() frees it now
  // instead of waiting out a close handshake it will never answer.
  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        log('info', 'no pong, terminating', { conn: c.id, ip: c.ip });
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch (err) {
        // A throw here would escape the timer and stop the process for everyone.
        log('warn', 'ping failed', { conn: c.id, err: String(err) });
        c.ws.terminate();
      }
    }
  }, cfg.pingIntervalMs);
  heartbeat.unref();

  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(cfg.port, cfg.host, () => {
      http.off('error', reject);
      resolve(undefined);
    });
  });
  http.on('error', (err) => log('error', 'http server error', { err: String(err) }));

  const port = /** @type {import('node:net').AddressInfo} */ (http.address()).port;
  const hostInUrl = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  log('info', 'listening', { host: cfg.host, port });

  /** @returns {Promise<void>} */
  function shutdown() {
    clearInterval(heartbeat);
    log('info', 'shutting down', { connections: clients.size });
    return new Promise((resolve) => {
      /** @type {NodeJS.Timeout | undefined} */
      let force;
      // The callback fires once every socket, upgraded ones included, has ended.
      http.close(() => {
        clearTimeout(force);
        resolve();
      });
      http.closeIdleConnections();
      for (const c of clients) c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      // A client that never answers the close handshake must not hold shutdown hostage.
      force = setTimeout(() => {
        for (const c of clients) c.ws.terminate();
        http.closeAllConnections();
      }, cfg.shutdownTimeoutMs);
      force.unref();
    });
  }

  return {
    url: `ws://${hostInUrl}:${port}`,
    httpUrl: `http://${hostInUrl}:${port}`,
    host: cfg.host,
    port,
    stats,
    close: () => (closing ??= shutdown()),
  };
}
