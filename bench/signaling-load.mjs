#!/usr/bin/env node
// @ts-check
/**
 * Load figure `signaling_clients_held`: how many concurrent WebSocket clients our
 * signaling server (server/signaling-server.mjs) holds while relaying steady traffic,
 * and the relay latency those clients see.
 *
 *   node bench/signaling-load.mjs [--clients 1000] [--seconds 10] [--topics 50] [--rate 1]
 *
 * Shape (why): N clients split round-robin over K topics (default 1000 over 50, i.e.
 * rooms of 20, about one kpc cluster each). Every client publishes `rate` msg/s (default
 * 1, ±20 % jitter, each period randomly phased so the load is smooth, not a 1 Hz
 * thundering herd) with a ~256-byte payload, the size of a small signaling frame. That is
 * far under the per-connection token bucket (100 msg/s, burst 300), so any error frame
 * is a server fault, not the load's. The server fans each publish out to all subscribers
 * of its topic, the sender included (y-webrtc semantics), so every publish should
 * produce `room size` deliveries, all of which are counted and timed.
 *
 * Server settings are its defaults (only host 127.0.0.1, port 0 and a silent logger
 * that counts warn/error lines). Nothing is lifted: if a limit (maxConnections, the
 * rate limit, the slow-consumer backlog, a file-descriptor limit) stops N clients, it
 * shows up as connect errors, error frames or clients not held, and the run fails.
 *
 * CAVEAT: the server and all N clients share ONE Node process (one event loop, and the
 * machine this was written on has 2 cores). Relay latency = receive time − send time,
 * both read with performance.now() in that process, so it includes the clients' own
 * JSON work and event-loop queueing, not only the server's. Treat it as an upper bound
 * on server latency; `loop_delay_p99_ms` is reported to show how busy the loop was.
 *
 * Phases, all within a hard deadline (`timeoutMs`, default 60 s, cleanup included):
 *   open    connect in batches of `batch`; each client subscribes, then ping→pong
 *           (frames are handled in order per connection, so the pong proves the
 *           subscribe took effect)
 *   publish `seconds` of steady publishing: the measured window
 *   drain   wait until every expected delivery arrived (at most 5 s)
 *   probe   one probe publish per topic; a client is *held* if it is still open, never
 *           closed, and received its topic's probe, i.e. connected and subscribed at the end
 *   close   clients close (1000), then the server is stopped
 *
 * Exit code 0 only if every client was held and ≥ 99.9 % of expected deliveries arrived.
 * @module
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startSignalingServer } from '../server/signaling-server.mjs';

/**
 * @typedef {object} LoadOptions
 * @property {number} [clients] concurrent clients N (default 1000)
 * @property {number} [topics] topics K; client i subscribes to topic i mod K (default 50)
 * @property {number} [seconds] length of the publishing window (default 10)
 * @property {number} [rate] publishes per client per second (default 1)
 * @property {number} [payloadBytes] filler per publish (default 256)
 * @property {number} [batch] connections opened concurrently during the open phase (default 50)
 * @property {number} [timeoutMs] hard bound on the whole run, cleanup included (default 60 000)
 */

/**
 * @typedef {object} LoadResult
 * @property {number} clients_held open, never closed, and received its topic's final probe
 * @property {number} clients N asked for
 * @property {number} topics K
 * @property {number} seconds publishing window
 * @property {number} publishes publish frames sent by clients
 * @property {number} deliveries_expected Σ over publishes of the topic's subscriber count
 * @property {number} deliveries distinct deliveries received (duplicates not counted)
 * @property {number} relay_p50_ms
 * @property {number} relay_p95_ms
 * @property {number} relay_p99_ms
 * @property {number} relay_max_ms
 * @property {number} rss_mb process RSS (server + clients) at the end of the window
 * @property {boolean} ok every client held and ≥ 99.9 % delivered, no timeout
 * @property {string | null} timed_out phase the hard deadline hit, or null
 * @property {number} open_ms time to open and subscribe all clients
 * @property {number} deliveries_per_s deliveries / seconds
 * @property {number} duplicates deliveries received more than once
 * @property {number} misrouted publishes received on a topic the client is not in
 * @property {number} wrong_clients_field deliveries whose `clients` ≠ room size
 * @property {number} closed_early connections that closed before the close phase
 * @property {Record<string, number>} connect_errors error message → count
 * @property {Record<string, number>} error_frames server error-frame code → count
 * @property {Record<string, number>} server_log server warn/error log message → count
 * @property {import('../server/signaling-server.mjs').SignalingStats | null} server server stats() at the end of the probe
 * @property {number} loop_delay_p99_ms event-loop delay p99 during the window
 * @property {number} cpu_pct process CPU during the window, % of one core
 * @property {number} rss_peak_mb peak RSS of the process
 * @property {number} loadavg_1m machine load at the end: other processes competing for the cores inflate latency
 */

/**
 * @typedef {object} Sim one simulated client
 * @property {WebSocket} ws
 * @property {number} topicIndex
 * @property {string} topic
 * @property {boolean} subscribed the post-subscribe pong arrived
 * @property {boolean} closed
 * @property {boolean} lost closed before the close phase (dropped by the server, or failed to open)
 * @property {boolean} probed received its topic's final probe
 * @property {((ok: boolean) => void) | null} pong pending ping→pong waiter
 * @property {NodeJS.Timeout | undefined} timer next publish
 */

const DRAIN_MS = 5_000;
const PROBE_MS = 5_000;
/** Reserved out of `timeoutMs` for closing clients and the server, so the total stays bounded. */
const CLEANUP_MS = 8_000;

/** @param {Record<string, number>} m @param {string} k */
const bump = (m, k) => { m[k] = (m[k] ?? 0) + 1; };
/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A sleep that does not keep the process alive: for races whose other side usually wins first. @param {number} ms */
const cap = (ms) => new Promise((r) => setTimeout(r, ms).unref());
/** @param {number} x */
const r1 = (x) => Math.round(x * 10) / 10;
/** Nearest-rank percentile of an ascending array. @param {Float64Array} a @param {number} p */
const pct = (a, p) => (a.length === 0 ? NaN : a[Math.min(a.length - 1, Math.ceil(p * a.length) - 1)]);

/**
 * Runs the load against a fresh in-process server and always stops it again.
 * @param {LoadOptions} [opts]
 * @returns {Promise<LoadResult>}
 */
export async function runSignalingLoad(opts = {}) {
  const N = opts.clients ?? 1000;
  const K = opts.topics ?? 50;
  const seconds = opts.seconds ?? 10;
  const rate = opts.rate ?? 1;
  const batch = opts.batch ?? 50;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const filler = 'x'.repeat(opts.payloadBytes ?? 256);
  for (const [k, v] of Object.entries({ clients: N, topics: K, seconds, rate, batch, timeoutMs })) {
    if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new RangeError(`${k} must be a positive number, got ${v}`);
  }
  if (K > N) throw new RangeError('topics must not exceed clients');
  if (seconds * 1000 + CLEANUP_MS >= timeoutMs) throw new RangeError(`seconds (${seconds}) does not fit in timeoutMs (${timeoutMs})`);

  const t0 = performance.now();
  const deadline = t0 + timeoutMs - CLEANUP_MS;
  /** Room size per topic index, fixed by the round-robin assignment. */
  const roomSize = Array.from({ length: K }, (_, t) => Math.floor(N / K) + (t < N % K ? 1 : 0));
  /** Run tag in topic names, so a stray frame from anything else would be misrouted, not counted. */
  const tag = Math.random().toString(36).slice(2, 8);

  /** @type {Record<string, number>} */ const serverLog = {};
  /** @type {Record<string, number>} */ const connectErrors = {};
  /** @type {Record<string, number>} */ const errorFrames = {};
  /** Per publish id: deliveries expected, and received so far. */
  /** @type {number[]} */ const expected = [];
  /** @type {number[]} */ const received = [];
  /** @type {number[]} */ const latencies = [];
  let misrouted = 0;
  let wrongClients = 0;
  let closedEarly = 0;
  let stopped = false;
  /** @type {string} */ let phase = 'start';

  const server = await startSignalingServer({
    host: '127.0.0.1',
    port: 0,
    // Silent, but warnings (refused upgrades, slow consumers, bad frames) are what this run is looking for.
    log: (level, msg) => { if (level === 'warn' || level === 'error') bump(serverLog, `${level}: ${msg}`); },
  });
  /** @type {Sim[]} */
  const sims = [];

  /**
   * ping → pong barrier for one client: resolves true on the pong, false on close or timeout.
   * @param {Sim} c @param {number} ms
   * @returns {Promise<boolean>}
   */
  const pingPong = (c, ms) => new Promise((resolve) => {
    if (c.closed || c.ws.readyState !== WebSocket.OPEN) return resolve(false);
    const t = setTimeout(() => { c.pong = null; resolve(false); }, ms);
    c.pong = (ok) => { clearTimeout(t); c.pong = null; resolve(ok); };
    c.ws.send('{"type":"ping"}');
  });

  /**
   * Opens client i, subscribes it and waits for the subscribe to be confirmed.
   * @param {number} i
   * @returns {Promise<void>}
   */
  async function openClient(i) {
    const topicIndex = i % K;
    const ws = new WebSocket(server.url, { perMessageDeflate: false });
    /** @type {Sim} */
    const c = { ws, topicIndex, topic: `load-${tag}-${topicIndex}`, subscribed: false, closed: false, lost: false, probed: false, pong: null, timer: undefined };
    sims.push(c);
    ws.on('error', (err) => bump(connectErrors, err.message));
    ws.on('close', () => {
      c.closed = true;
      clearTimeout(c.timer);
      // `stopped` (not `phase`): after a timeout main() may still be advancing phases.
      if (!stopped) { c.lost = true; closedEarly++; }
      c.pong?.(false);
    });
    ws.on('message', (raw) => {
      // Timestamp first: everything after this line is client work, not relay time.
      const now = performance.now();
      /** @type {any} */ let m;
      try {
        m = JSON.parse(String(raw));
      } catch {
        // Would be a server bug; thrown from a ws listener it would kill the run uncleaned.
        return bump(errorFrames, 'unparseable-frame');
      }
      if (m.type === 'pong') return c.pong?.(true);
      if (m.type === 'error') return bump(errorFrames, String(m.code));
      if (m.type !== 'publish' || m.topic !== c.topic) return void misrouted++;
      if (m.clients !== roomSize[topicIndex]) wrongClients++;
      if (m.probe) return void (c.probed = true);
      const id = m.id;
      if (received[id]++ < expected[id]) latencies.push(now - m.t);
    });
    const opened = await new Promise((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('close', () => resolve(false));
    });
    if (!opened) return;
    ws.send(JSON.stringify({ type: 'subscribe', topics: [c.topic] }));
    c.subscribed = await pingPong(c, 10_000);
  }

  /**
   * Publishes from c every 1/rate s (±20 %) until the window ends at `endAt`.
   * @param {Sim} c @param {number} endAt
   */
  function publishLoop(c, endAt) {
    const period = 1000 / rate;
    const fire = () => {
      if (stopped || c.closed || performance.now() >= endAt) return;
      const id = expected.length;
      expected.push(roomSize[c.topicIndex]);
      received.push(0);
      // The payload is opaque to the server; fields sit at top level as in y-webrtc.
      c.ws.send(JSON.stringify({ type: 'publish', topic: c.topic, id, t: performance.now(), data: filler }));
      c.timer = setTimeout(fire, period * (0.8 + 0.4 * Math.random()));
    };
    c.timer = setTimeout(fire, period * Math.random());
  }

  let openMs = NaN;
  let rssMb = NaN;
  let cpuPct = NaN;
  let loopP99 = NaN;
  /** @type {import('../server/signaling-server.mjs').SignalingStats | null} */
  let serverStats = null;

  async function main() {
    phase = 'open';
    for (let b = 0; b < N && !stopped; b += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, N - b) }, (_, j) => openClient(b + j)));
    }
    openMs = performance.now() - t0;

    phase = 'publish';
    const LOOP_RES_MS = 10;
    const loop = monitorEventLoopDelay({ resolution: LOOP_RES_MS });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const endAt = w0 + seconds * 1000;
    for (const c of sims) if (c.subscribed) publishLoop(c, endAt);
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpu0);
    cpuPct = ((cpu.user + cpu.system) / 1000 / (performance.now() - w0)) * 100;
    loop.disable();
    // The histogram records the whole sampling interval; subtract it to get the lateness.
    loopP99 = Math.max(0, loop.percentile(99) / 1e6 - LOOP_RES_MS);
    rssMb = process.memoryUsage().rss / 2 ** 20;

    phase = 'drain';
    const want = expected.reduce((a, b) => a + b, 0);
    const drainEnd = performance.now() + DRAIN_MS;
    while (!stopped && latencies.length < want && performance.now() < drainEnd) await sleep(20);

    phase = 'probe';
    const probeEnd = performance.now() + PROBE_MS;
    for (let t = 0; t < K; t++) {
      const sender = sims.find((c) => c.topicIndex === t && c.subscribed && !c.closed);
      sender?.ws.send(JSON.stringify({ type: 'publish', topic: sender.topic, probe: true }));
    }
    while (!stopped && sims.some((c) => !c.closed && c.subscribed && !c.probed) && performance.now() < probeEnd) await sleep(20);
    serverStats = server.stats();
  }

  /** @type {string | null} */
  let timedOut = null;
  /** @type {NodeJS.Timeout | undefined} */
  let deadlineTimer;
  const running = main();
  try {
    const expired = new Promise((resolve) => { deadlineTimer = setTimeout(() => resolve('timeout'), deadline - performance.now()); });
    if ((await Promise.race([running, expired])) === 'timeout') timedOut = phase;
  } finally {
    clearTimeout(deadlineTimer);
    stopped = true;
    running.catch(() => {}); // after a timeout main() may still reject as things close under it
    for (const c of sims) clearTimeout(c.timer);
    // Close handshakes first (the polite path), then terminate whatever has not finished
    // within half the cleanup budget, then stop the server within the rest.
    const allClosed = Promise.all(sims.map((c) => (c.closed ? null : new Promise((r) => c.ws.once('close', r)))));
    for (const c of sims) {
      if (c.ws.readyState === WebSocket.OPEN) c.ws.close(1000);
      else if (c.ws.readyState === WebSocket.CONNECTING) c.ws.terminate();
    }
    await Promise.race([allClosed, cap(CLEANUP_MS / 2)]);
    for (const c of sims) if (!c.closed) c.ws.terminate();
    await Promise.race([server.close(), cap(CLEANUP_MS / 2)]);
  }

  const sorted = Float64Array.from(latencies).sort();
  const deliveriesExpected = expected.reduce((a, b) => a + b, 0);
  const duplicates = received.reduce((a, n, id) => a + Math.max(0, n - expected[id]), 0);
  const clientsHeld = sims.filter((c) => c.subscribed && c.probed && !c.lost).length;
  return {
    clients_held: clientsHeld,
    clients: N,
    topics: K,
    seconds,
    publishes: expected.length,
    deliveries_expected: deliveriesExpected,
    deliveries: sorted.length,
    relay_p50_ms: r1(pct(sorted, 0.5)),
    relay_p95_ms: r1(pct(sorted, 0.95)),
    relay_p99_ms: r1(pct(sorted, 0.99)),
    relay_max_ms: r1(sorted.length ? sorted[sorted.length - 1] : NaN),
    rss_mb: r1(rssMb),
    ok: !timedOut && clientsHeld === N && closedEarly === 0 && deliveriesExpected > 0 && sorted.length >= 0.999 * deliveriesExpected,
    timed_out: timedOut,
    open_ms: Math.round(openMs),
    deliveries_per_s: Math.round(sorted.length / seconds),
    duplicates,
    misrouted,
    wrong_clients_field: wrongClients,
    closed_early: closedEarly,
    connect_errors: connectErrors,
    error_frames: errorFrames,
    server_log: serverLog,
    server: serverStats,
    loop_delay_p99_ms: r1(loopP99),
    cpu_pct: Math.round(cpuPct),
    rss_peak_mb: r1(process.resourceUsage().maxRSS / 1024),
    loadavg_1m: r1(loadavg()[0]),
  };
}

// CLI: prints a table and one JSON line; exit code 0 only when the run is `ok`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string' }, seconds: { type: 'string' }, topics: { type: 'string' },
      rate: { type: 'string' }, batch: { type: 'string' }, timeout: { type: 'string' },
    },
  });
  /** @param {string | undefined} v */
  const num = (v) => (v === undefined ? undefined : Number(v));
  try {
    const r = await runSignalingLoad({
      clients: num(values.clients), seconds: num(values.seconds), topics: num(values.topics),
      rate: num(values.rate), batch: num(values.batch), timeoutMs: num(values.timeout),
    });
    console.table({
      clients_held: `${r.clients_held} / ${r.clients}`,
      shape: `${r.topics} topics × ${r.clients / r.topics} clients, ${r.seconds} s`,
      open_ms: r.open_ms,
      publishes: r.publishes,
      deliveries: `${r.deliveries} / ${r.deliveries_expected}`,
      'relay p50/p95/p99/max ms': `${r.relay_p50_ms} / ${r.relay_p95_ms} / ${r.relay_p99_ms} / ${r.relay_max_ms}`,
      'rss / peak MiB': `${r.rss_mb} / ${r.rss_peak_mb}`,
      'cpu % / loop p99 ms / loadavg': `${r.cpu_pct} / ${r.loop_delay_p99_ms} / ${r.loadavg_1m}`,
      problems: JSON.stringify({ timed_out: r.timed_out, closed_early: r.closed_early, duplicates: r.duplicates, misrouted: r.misrouted, wrong_clients_field: r.wrong_clients_field, ...r.connect_errors, ...r.error_frames, ...r.server_log }),
    });
    console.log(JSON.stringify(r));
    // Explicit exit: nothing should be left open, but a load tool must never hang.
    process.exit(r.ok ? 0 : 1);
  } catch (err) {
    console.error(err);
    process.exit(2);
  }
}
