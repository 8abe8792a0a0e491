#!/usr/bin/env node
// @ts-check
/**
 * `kpc-signal`: runs the kpc signaling server from the command line.
 * See docs/signaling.md for the protocol and every limit.
 * @module
 */
import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULTS, defaultLogger, silentLogger, startSignalingServer } from './signaling-server.mjs';

/** @import { Logger, SignalingServerOptions } from './validate.mjs' */

const HELP = `Usage: kpc-signal [options]

kpc signaling server (y-webrtc protocol compatible). Peers never trust it: it only relays.

Options:
  --host <addr>              listen address (default ${DEFAULT_HOST})
  --port <n>                 listen port, 0 = random (default $PORT or ${DEFAULT_PORT})
  --max-frame-bytes <n>      largest incoming frame in bytes (default ${DEFAULTS.maxFrameBytes})
  --max-topics <n>           topics per connection (default ${DEFAULTS.maxTopicsPerConnection})
  --max-topic-length <n>     characters per topic name (default ${DEFAULTS.maxTopicLength})
  --max-connections <n>      simultaneous connections (default ${DEFAULTS.maxConnections})
  --messages-per-second <n>  sustained messages per connection (default ${DEFAULTS.messagesPerSecond})
  --message-burst <n>        burst allowance per connection (default ${DEFAULTS.messageBurst})
  --quiet                    no log lines (the "listening" line is still printed)
  --verbose                  also log info and debug events
  -h, --help                 show this help
`;

/** CLI flag → option name, for the numeric limits. */
const NUMERIC = /** @type {const} */ ({
  'max-frame-bytes': 'maxFrameBytes',
  'max-topics': 'maxTopicsPerConnection',
  'max-topic-length': 'maxTopicLength',
  'max-connections': 'maxConnections',
  'messages-per-second': 'messagesPerSecond',
  'message-burst': 'messageBurst',
});

/**
 * Parses a flag value here, not in the server, so the error names the flag the operator typed.
 * @param {string} flag
 * @param {string} text
 * @param {number} min
 * @returns {number}
 */
function toInt(flag, text, min) {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`--${flag} must be an integer >= ${min}, got "${text}"`);
  return n;
}

/** @type {Logger} */
const verboseLogger = (level, msg, ctx) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...ctx })}\n`);
};

async function main() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      ...Object.fromEntries(Object.keys(NUMERIC).map((k) => [k, { type: /** @type {const} */ ('string') }])),
      quiet: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const portText = /** @type {string | undefined} */ (values.port) ?? process.env.PORT;
  /** @type {SignalingServerOptions} */
  const opts = {
    host: /** @type {string | undefined} */ (values.host) ?? DEFAULT_HOST,
    port: portText === undefined ? DEFAULT_PORT : toInt('port', portText, 0),
    log: values.quiet ? silentLogger : values.verbose ? verboseLogger : defaultLogger,
  };
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const v = /** @type {Record<string, unknown>} */ (values)[flag];
    if (typeof v === 'string') opts[key] = toInt(flag, v, 1);
  }

  /** @type {import('./signaling-server.mjs').SignalingServer | undefined} */
  let server;
  let stopping = false;
  /** @param {NodeJS.Signals} sig */
  const stop = (sig) => {
    if (stopping || !server) {
      // Second signal (or one during start-up): the operator does not want to wait.
      process.stderr.write(`kpc-signal: ${sig}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`kpc signaling server: ${sig}, shutting down\n`);
    server.close().then(
      () => { process.exitCode = 0; },
      (err) => { process.stderr.write(`kpc-signal: shutdown failed: ${String(err)}\n`); process.exitCode = 1; },
    );
  };
  // Installed before the "listening" line: whoever reads that line may signal at once,
  // and a signal arriving before the handler exists would kill us without a clean close.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  server = await startSignalingServer(opts);
  process.stdout.write(`kpc signaling server listening on ${server.url} (health: ${server.httpUrl}/health)\n`);
}

main().catch((err) => {
  process.stderr.write(`kpc-signal: ${err instanceof Error ? err.message : String(err)} (see kpc-signal --help)\n`);
  process.exit(2);
});
