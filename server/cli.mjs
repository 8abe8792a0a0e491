#!/usr/bin/env node
// @ts-check
/**
 * `kpc-signal`: runs the kpc signaling server from the command line.
 * See docs/signaling.md for the protocol and every limit.
 * @module
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ADMISSION_DEFAULTS, DEFAULT_HOST, DEFAULT_PORT, DEFAULTS, defaultLogger, loadPowVerifier, silentLogger, startSignalingServer } from './signaling-server.mjs';
import { normalizeServerUrl } from './admission.mjs';
import { resolveOptions } from './validate.mjs';

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

Proof-of-π admission (off unless --admission-difficulty is given; see docs/signaling.md):
  --admission-difficulty <n>     require a proof of at least n bits (0..64) before relaying
  --admission-epoch-ms <n>       the clusters' epoch length (default ${ADMISSION_DEFAULTS.epochMs})
  --admission-max-per-key <n>    admitted connections per public key (default ${ADMISSION_DEFAULTS.maxConnectionsPerKey})
  --admission-timeout-ms <n>     close connections not admitted by then (default ${ADMISSION_DEFAULTS.admitTimeoutMs})
  --admission-url <url>          this server's public ws:/wss: URL (repeatable); admits must be signed for it
  --admission-cluster <id>       admit only this cluster (repeatable; default: any)
  --pow-module <path>            ES module exporting decodePowProof and verifyProof
                                 (default: kpc's dist/node/pow.js, made by npm run build)

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

/** CLI flag → admission option name, for its numeric settings. */
const ADMISSION_NUMERIC = /** @type {const} */ ({
  'admission-epoch-ms': 'epochMs',
  'admission-max-per-key': 'maxConnectionsPerKey',
  'admission-timeout-ms': 'admitTimeoutMs',
});

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
      'admission-difficulty': { type: 'string' },
      ...Object.fromEntries(Object.keys(ADMISSION_NUMERIC).map((k) => [k, { type: /** @type {const} */ ('string') }])),
      'admission-url': { type: 'string', multiple: true },
      'admission-cluster': { type: 'string', multiple: true },
      'pow-module': { type: 'string' },
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
  const { admission, powModule } = admissionFromFlags(/** @type {Record<string, unknown>} */ (values));
  opts.admission = admission;
  // Every flag is checked before any module is loaded: a bad flag is reported as itself
  // (exit 2), whether or not the proof-of-π module is there (a fresh clone has no dist/).
  resolveOptions(opts);
  if (admission) {
    // A path is taken relative to the working directory, like any other CLI path.
    admission.verify = await loadPowVerifier(powModule === undefined ? undefined : powModule.startsWith('file:') ? powModule : pathToFileURL(resolve(powModule)).href);
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

/**
 * The `admission` option from the --admission-* flags, without its verifier, and the
 * --pow-module to load that from (the caller loads it, after every flag is validated).
 * `admission` is undefined without --admission-difficulty (and then the other admission
 * flags are an error).
 * @param {Record<string, unknown>} values
 * @returns {{ admission: import('./validate.mjs').AdmissionOptions | undefined, powModule: string | undefined }}
 */
function admissionFromFlags(values) {
  const difficulty = values['admission-difficulty'];
  if (typeof difficulty !== 'string') {
    const stray = Object.keys(values).find((k) => k.startsWith('admission-') || k === 'pow-module');
    if (stray) throw new RangeError(`--${stray} needs --admission-difficulty`);
    return { admission: undefined, powModule: undefined };
  }
  const d = toInt('admission-difficulty', difficulty, 0);
  if (d > 64) throw new RangeError(`--admission-difficulty must be at most 64, got "${difficulty}"`);
  /** @type {import('./validate.mjs').AdmissionOptions} */
  const admission = { difficulty: d };
  for (const [flag, key] of Object.entries(ADMISSION_NUMERIC)) {
    const v = values[flag];
    if (typeof v === 'string') admission[key] = toInt(flag, v, 1);
  }
  const urls = /** @type {string[] | undefined} */ (values['admission-url']);
  for (const u of urls ?? []) {
    if (normalizeServerUrl(u) === null) throw new RangeError(`--admission-url must be a ws: or wss: URL, got "${u}"`);
  }
  if (urls) admission.urls = urls;
  const clusters = /** @type {string[] | undefined} */ (values['admission-cluster']);
  for (const c of clusters ?? []) {
    if (c === '' || c.length > 128) throw new RangeError(`--admission-cluster must be 1..128 characters, got "${c}"`);
  }
  if (clusters) admission.clusters = clusters;
  return { admission, powModule: /** @type {string | undefined} */ (values['pow-module']) };
}

main().catch((err) => {
  process.stderr.write(`kpc-signal: ${err instanceof Error ? err.message : String(err)} (see kpc-signal --help)\n`);
  process.exit(2);
});
