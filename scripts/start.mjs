#!/usr/bin/env node
// `npm start`: a local signaling server plus the demo page, served from this checkout.
// Run after `npm run build` (npm start does both).
import { existsSync } from 'node:fs';
import { startSignalingServer } from '../server/signaling-server.mjs';
import { startStaticServer } from './static-server.mjs';

if (!existsSync('dist/cdn/kpc.js')) {
  console.error('dist/cdn/kpc.js is missing: run `npm run build` first (npm start does).');
  process.exit(1);
}
const host = process.env.HOST ?? '127.0.0.1';
// The server asks every connection for a proof-of-π at the nodes' default difficulty
// before it relays (docs/signaling.md); the verifier is the build's dist/node/pow.js.
// (A computed specifier: the type-check must not follow it into the build output.)
const powBuild = new URL('../dist/node/pow.js', import.meta.url).href;
const { DEFAULT_DIFFICULTY } = /** @type {{ DEFAULT_DIFFICULTY: number }} */ (await import(powBuild));
const signal = await startSignalingServer({ host, port: Number(process.env.SIGNAL_PORT ?? 8787), admission: { difficulty: DEFAULT_DIFFICULTY } });
const web = await startStaticServer({ root: '.', host, port: Number(process.env.PORT ?? 8080) });
const demo = `${web.url}/demo/?signaling=${encodeURIComponent(signal.url)}`;
console.log(`kpc signaling server: ${signal.url}  (health: ${signal.httpUrl}/health)`);
console.log(`kpc demo:             ${demo}`);
console.log('Open the demo URL in Chrome or Chromium; more tabs of it join the same cluster. Ctrl-C stops.');

const shutdown = async () => {
  await Promise.all([signal.close(), web.close()]);
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
