#!/usr/bin/env node
// Smoke test of what `npm start` serves: the built single-file bundle in demo/index.html
// forms a four-node mesh in real Chromium. Run after `npm run build` (CI does).
import puppeteer from 'puppeteer-core';
import { startSignalingServer } from '../server/signaling-server.mjs';
import { chromiumArgs, chromiumPath } from './chromium.mjs';
import { startStaticServer } from './static-server.mjs';

// As `npm start` runs it: admission on at the nodes' default difficulty.
// (A computed specifier: the type-check must not follow it into the build output.)
const powBuild = new URL('../dist/node/pow.js', import.meta.url).href;
const { DEFAULT_DIFFICULTY } = /** @type {{ DEFAULT_DIFFICULTY: number }} */ (await import(powBuild));
const signal = await startSignalingServer({ host: '127.0.0.1', port: 0, log: false, admission: { difficulty: DEFAULT_DIFFICULTY } });
const web = await startStaticServer({ root: '.' });
const browser = await puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: chromiumArgs() });
let ok = false;
try {
  const page = await browser.newPage();
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(/** @type {Error} */ (e).message ?? e)));
  await page.goto(`${web.url}/demo/?signaling=${encodeURIComponent(signal.url)}`);
  await page.waitForFunction(
    () => {
      const nodes = [...document.querySelectorAll('kpc-node')];
      const view = document.querySelector('kpc-mesh-view');
      return nodes.length === 4 &&
        nodes.every((n) => n.state === 'READY' && n.peers.length === 3) &&
        view?.shadowRoot?.querySelectorAll('[part=link]').length === 6;
    },
    { timeout: 30_000, polling: 50 },
  );
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log('demo smoke: 4 nodes READY with 3 peers each, 6 links drawn');
  // The trained repo model: fetched by Range from the demo server, greedy, real words.
  const text = await page.evaluate(async () => {
    const el = /** @type {any} */ (document.getElementById('trained'));
    const done = await el.generate();
    return done?.text ?? '';
  });
  if (!/\b(the|and|of|LORD|unto)\b/.test(text)) throw new Error(`the trained model wrote no English: ${JSON.stringify(text)}`);
  console.log(`demo smoke: kjv-llama-3m wrote ${JSON.stringify(text.slice(0, 80))}…`);
  // It ran on the cluster: every node holds a share, drawn as a ring per segment.
  const rings = await page.waitForFunction(
    () => document.querySelector('kpc-mesh-view')?.shadowRoot?.querySelectorAll('[part=segment]').length === 4,
    { timeout: 15_000, polling: 100 },
  ).then(() => true, () => false);
  if (!rings) throw new Error('the trained model did not run across the four nodes (no segment rings)');
  console.log('demo smoke: the model ran across 4 nodes, one segment each');
  ok = true;
  console.log('demo: 3 passed, 0 failed');
} catch (err) {
  console.error(`demo smoke failed: ${err instanceof Error ? err.message : err}`);
} finally {
  await browser.close();
  await Promise.all([signal.close(), web.close()]);
}
process.exit(ok ? 0 : 1);
