#!/usr/bin/env node
// `npm run bench`: measures in real Chromium, prints a table, writes bench/results.json.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { startSignalingServer } from '../server/signaling-server.mjs';
import { chromiumArgs, chromiumPath } from '../scripts/chromium.mjs';
import { startStaticServer } from '../scripts/static-server.mjs';
import { runSignalingLoad } from './signaling-load.mjs';
import { WORKER_MODULE_ID, workerSourceModule } from '../scripts/worker-source.mjs';

/** @param {string} p */
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('./.tmp');

await mkdir(out, { recursive: true });
await esbuild.build({
  entryPoints: [here('./browser.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
  outfile: `${out}/bench.js`, conditions: ['browser'], mainFields: ['browser', 'module', 'main'],
  define: { global: 'globalThis', 'process.env.NODE_DEBUG': 'false' }, inject: [here('../scripts/process-shim.js')],
  logLevel: 'warning',
  plugins: [{
    name: 'kpc-regen-worker',
    setup(b) {
      b.onResolve({ filter: /^virtual:kpc-regen-worker$/ }, () => ({ path: WORKER_MODULE_ID, namespace: 'kpc' }));
      b.onLoad({ filter: /.*/, namespace: 'kpc' }, async () => ({ contents: await workerSourceModule(), loader: 'js' }));
    },
  }],
});
// The repo model, served by Range from the bench page's own server (repo_model_* figures).
const REPO_Q8 = 'models/kjv-llama-3m/model-q8_0.gguf';
await mkdir(`${out}/models/kjv-llama-3m`, { recursive: true });
await copyFile(here(`../${REPO_Q8}`), `${out}/${REPO_Q8}`);
await copyFile(here(`../${REPO_Q8}.manifest.json`), `${out}/${REPO_Q8}.manifest.json`);
/** `BENCH_ONLY=hosted,pow npm run bench`: only those browser benches; their figures are merged into bench/results.json. */
const only = process.env.BENCH_ONLY ?? '';
const wantKernels = !only || only.split(',').map((s) => s.trim()).includes('kernels');
// The kernels bench's model (bench/bench-model.ts): two random SmolLM2-135M-shaped files,
// written to bench/.tmp/bench-model/ when missing or when the generator's version changed.
/** @type {any} */
let benchModel;
if (wantKernels) {
  await esbuild.build({ entryPoints: [here('./bench-model.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile: `${out}/bench-model.mjs`, logLevel: 'warning' });
  benchModel = await import(`${out}/bench-model.mjs`);
  for (const kind of /** @type {const} */ (['q8', 'q4'])) {
    const file = `${out}/${benchModel.BENCH_MODEL_FILES[kind]}`;
    const stamp = `${file}.version`;
    if (existsSync(file) && existsSync(stamp) && (await readFile(stamp, 'utf8')).trim() === String(benchModel.BENCH_MODEL_VERSION)) continue;
    const t0 = performance.now();
    await mkdir(dirname(file), { recursive: true });
    const fh = await open(`${file}.partial`, 'w');
    let bytes = 0;
    try {
      for (const chunk of benchModel.benchModelChunks(kind)) {
        await fh.write(chunk);
        bytes += chunk.byteLength;
      }
    } finally {
      await fh.close();
    }
    await rename(`${file}.partial`, file);
    await writeFile(stamp, `${benchModel.BENCH_MODEL_VERSION}\n`);
    console.error(`bench model: wrote ${benchModel.BENCH_MODEL_FILES[kind]} (${(bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
await writeFile(`${out}/index.html`, '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>kpc bench</title><script type="module" src="bench.js"></script>');

const signal = await startSignalingServer({ host: '127.0.0.1', port: 0, log: () => {} });
const web = await startStaticServer({ root: out });
// protocolTimeout: page.evaluate runs the whole bench (puppeteer's default, 180 s, is shorter than the kernels bench).
const browser = await puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: chromiumArgs(), protocolTimeout: 30 * 60_000 });
let results;
let version = '';
/** kpc's greedy tokens on the kernels bench's Q8_0 file (checked against llama.cpp's below). @type {number[] | null} */
let kpcTokens = null;
try {
  version = await browser.version();
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || (only && m.type() === 'log')) console.error('[page]', m.text()); });
  // Extra signaling servers for the recovery figures, driven from the page.
  /** @type {Map<string, {close: () => Promise<void>}>} */
  const extra = new Map();
  let nextId = 1;
  await page.exposeFunction('kpcControl', async (/** @type {string} */ command, /** @type {any} */ payload) => {
    if (command === 'signal-start') {
      const s = await startSignalingServer({ host: '127.0.0.1', port: payload?.port ?? 0, log: false });
      const id = String(nextId++);
      extra.set(id, s);
      return { id, url: s.url };
    }
    if (command === 'signal-stop') {
      await extra.get(payload.id)?.close();
      extra.delete(payload.id);
      return true;
    }
    // The renderer's peak RSS (kernels bench): reset, then read VmHWM of Chromium's renderer processes.
    if (command === 'rss-reset' || command === 'rss-peak') return rendererPeakRss(browser, command === 'rss-reset');
    throw new Error(`unknown command ${command}`);
  });
  await page.goto(`${web.url}/index.html`);
  await page.waitForFunction(() => typeof window.kpcBench === 'function');
  results = await page.evaluate((url, o) => window.kpcBench(url, o), signal.url, only);
  if (wantKernels) kpcTokens = await page.evaluate(() => /** @type {any} */ (window).kpcKernelsTokens ?? null);
} finally {
  await browser.close();
  await Promise.all([signal.close(), web.close()]);
}

if (wantKernels) {
  // llama.cpp on the kernels bench's Q8_0 file, after Chromium is gone: the same 128-id prompt, 64 greedy tokens, 1 thread.
  const ids = benchModel.benchPromptIds();
  try {
    const native = JSON.parse(execFileSync(process.execPath, [here('./llamacpp.bench.mjs'), `${out}/${benchModel.BENCH_MODEL_FILES.q8}`, '--ids', ids.join(','), '--runs', '3'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    results.llamacpp_prefill_tps_q8 = { value: Math.round((ids.length / (native.first_token_ms / 1000)) * 10) / 10, unit: 'tokens/s' };
    results.llamacpp_decode_tps_q8 = { value: native.tokens_per_s, unit: 'tokens/s' };
    if (kpcTokens) {
      const n = Math.min(kpcTokens.length, native.tokens.length);
      const same = kpcTokens.slice(0, n).every((t, i) => t === native.tokens[i]);
      console.error(`kernels bench: kpc's and llama.cpp's greedy tokens on the Q8_0 file ${same ? 'match' : 'DIFFER'} (${n} tokens)`
        + (same ? '' : `\n  kpc:       ${kpcTokens.join(' ')}\n  llama.cpp: ${native.tokens.join(' ')}`));
    }
  } catch (e) {
    console.warn(`llama.cpp not run for the kernels bench (llamacpp_*_q8 figures left out): ${/** @type {Error} */ (e).message.split('\n')[0]}`);
  }
}

if (only) {
  // A partial run: keep every other figure of the last full run.
  const previous = existsSync(here('./results.json')) ? JSON.parse(await readFile(here('./results.json'), 'utf8')) : {};
  results = { ...previous, ...results };
} else {
  // The signaling server under 1000 concurrent WebSocket clients, after Chromium is gone
  // so the two do not share the cores (bench/signaling-load.mjs says what it measures).
  const load = await runSignalingLoad({ clients: 1000, seconds: 10 });
  if (!load.ok) console.warn('signaling load run not clean:', JSON.stringify(load));
  results.signaling_clients_held = { value: load.clients_held, unit: 'clients', goal: 1000 };
  results.signaling_relay_p95_ms = { value: load.relay_p95_ms, unit: 'ms' };
  results.signaling_deliveries_pct = { value: Math.round((load.deliveries / Math.max(1, load.deliveries_expected)) * 1e5) / 1e3, unit: '%' };

  // llama.cpp on the same Q8_0 file, after Chromium is gone (node-llama-cpp, 1 thread, installed on first use).
  const llamacpp = JSON.parse(execFileSync(process.execPath, [here('./llamacpp.bench.mjs'), here(`../${REPO_Q8}`)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  results.llamacpp_repo_model_tokens_per_s = { value: llamacpp.tokens_per_s, unit: 'tokens/s' };
  results.llamacpp_repo_model_first_token_ms = { value: llamacpp.first_token_ms, unit: 'ms' };

  // What a page downloads for the one script tag (built by `npm run build`).
  const cdn = here('../dist/cdn/kpc.js');
  if (existsSync(cdn)) {
    const kb = gzipSync(await readFile(cdn), { level: 9 }).length / 1024;
    results.bundle_cdn_gzip_kb = { value: Math.round(kb * 10) / 10, unit: 'KiB' };
  } else {
    console.warn('dist/cdn/kpc.js not built: run `npm run build` first to measure the bundle size');
  }
}

/** Figures where more is better (rates, speed-ups); every other one is a cost. */
const higherIsBetter = (/** @type {string} */ name) => /_per_s|_speedup|tokens_per_s|_held|_pct/.test(name);
/** @param {string} name @param {number} v @param {number | undefined} limit */
const verdict = (name, v, limit) => (limit === undefined ? '' : (higherIsBetter(name) ? v >= limit : v < limit) ? 'yes' : 'NO');
const rows = Object.entries(results).map(([name, r]) => ({
  name, value: r.value, unit: r.unit,
  spec: r.spec ?? '', 'within spec': verdict(name, r.value, r.spec),
  goal: r.goal ?? '', 'within goal': verdict(name, r.value, r.goal),
}));
console.table(rows);
await writeFile(here('./results.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`wrote bench/results.json (${version}, ${process.platform}/${process.arch})`);

/**
 * Peak resident set (VmHWM, MB) of Chromium's renderer processes, the largest of them (the
 * bench page's; the others are idle). `reset` first clears each one's peak
 * (/proc/<pid>/clear_refs ← 5). Linux only; null elsewhere or when /proc refuses.
 * @param {import('puppeteer-core').Browser} b @param {boolean} reset
 */
async function rendererPeakRss(b, reset) {
  const root = b.process()?.pid;
  if (!root || process.platform !== 'linux') return null;
  try {
    /** @type {Map<number, number[]>} */
    const children = new Map();
    for (const d of await readdir('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)?.push(Number(d));
    }
    const renderers = [];
    for (let todo = [root]; todo.length;) {
      const pid = /** @type {number} */ (todo.pop());
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes('--type=renderer')) renderers.push(pid);
      todo.push(...(children.get(pid) ?? []));
    }
    let peak = 0;
    for (const pid of renderers) {
      if (reset) await writeFile(`/proc/${pid}/clear_refs`, '5');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    }
    return renderers.length ? Math.round(peak * 10) / 10 : null;
  } catch (e) {
    console.warn(`renderer RSS not readable: ${/** @type {Error} */ (e).message}`);
    return null;
  }
}
