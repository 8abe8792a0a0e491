// web-test-runner plugin: real signaling servers for browser tests.
//
// Browser tests reach these through `executeServerCommand(name, payload)`:
//   'signal-url'     → URL of the kpc signaling server started with the test run
//   'signal-start'   → {port?, admission?: {difficulty, epochMs?}}: starts one more kpc server, returns {id, url};
//                      with admission, proofs are verified by src/pow (loaded through tsx, no build needed)
//   'signal-stop'    → {id}: stops that server
//   'ywebrtc-start'  → starts the plain y-webrtc signaling server (its own bin), returns {id, url}
//   'open-page'      → {url}: opens a real second tab in the same browser
//   'close-pages'    → closes those tabs
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Asks the OS for a free loopback port (y-webrtc's server takes its port from PORT). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startYWebrtc() {
  const port = await freePort();
  // y-webrtc's exports map hides bin/, so resolve the package and walk to it.
  const bin = join(dirname(require.resolve('y-webrtc')), '..', 'bin', 'server.js');
  const child = spawn(process.execPath, [bin], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (d) => { if (String(d).includes('running')) resolve(); });
  });
  return { url: `ws://127.0.0.1:${port}`, close: async () => { child.kill(); } };
}

let startSignalingServer;

/**
 * A lying signaling server (eclipse attack): it relays nothing honest clients publish,
 * and relays everything from clients that first say `{type: 'attacker'}`.
 */
async function startLiar() {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const topics = new Map();
  wss.on('connection', (ws) => {
    let attacker = false;
    ws.on('message', (raw) => {
      let m;
      try { m = JSON.parse(String(raw)); } catch { return; }
      if (m.type === 'attacker') attacker = true;
      else if (m.type === 'subscribe') for (const t of m.topics ?? []) { if (!topics.has(t)) topics.set(t, new Set()); topics.get(t).add(ws); }
      else if (m.type === 'ping') ws.send('{"type":"pong"}');
      else if (m.type === 'publish' && attacker) for (const c of topics.get(m.topic) ?? []) c.send(JSON.stringify(m));
    });
    ws.on('close', () => topics.forEach((set) => set.delete(ws)));
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    close: () => new Promise((r) => { wss.clients.forEach((c) => c.terminate()); wss.close(r); }),
  };
}

let powVerify;
/** The server's proof check built from src/pow itself, so `npm test` needs no `npm run build`. */
async function srcPowVerifier() {
  if (!powVerify) {
    const { tsImport } = await import('tsx/esm/api');
    const { powVerifier } = await import('../../server/admission.mjs');
    powVerify = powVerifier(await tsImport('../../src/pow/index.ts', import.meta.url));
  }
  return powVerify;
}

export function signalPlugin() {
  let main;
  let nextId = 1;
  const servers = new Map();
  const extraPages = [];
  return {
    name: 'kpc-signal-servers',
    async serverStart() {
      ({ startSignalingServer } = await import('../../server/signaling-server.mjs'));
      main = await startSignalingServer({ host: '127.0.0.1', port: 0 });
    },
    async serverStop() {
      await Promise.all(extraPages.map((p) => p.close().catch(() => {})));
      await Promise.all([...servers.values()].map((s) => s.close()));
      await main?.close();
    },
    async executeCommand({ command, payload, session }) {
      switch (command) {
        case 'signal-url':
          return main.url;
        case 'signal-start': {
          const opts = { host: '127.0.0.1', port: 0, ...(payload ?? {}) };
          if (opts.admission) opts.admission = { ...opts.admission, verify: await srcPowVerifier() };
          const s = await startSignalingServer(opts);
          const id = String(nextId++);
          servers.set(id, s);
          return { id, url: s.url };
        }
        case 'liar-start': {
          const s = await startLiar();
          const id = String(nextId++);
          servers.set(id, s);
          return { id, url: s.url };
        }
        case 'ywebrtc-start': {
          const s = await startYWebrtc();
          const id = String(nextId++);
          servers.set(id, s);
          return { id, url: s.url };
        }
        case 'signal-stop': {
          const s = servers.get(payload.id);
          servers.delete(payload.id);
          await s?.close();
          return true;
        }
        case 'open-page': {
          const page = session.browser.getPage(session.id); // puppeteer Page (chrome launcher)
          const tab = await page.browserContext().newPage();
          extraPages.push(tab);
          tab.on('console', (msg) => console.log(`[tab] ${msg.text()}`));
          await tab.goto(new URL(payload.url, page.url()).href);
          return true;
        }
        case 'close-pages':
          await Promise.all(extraPages.splice(0).map((p) => p.close().catch(() => {})));
          return true;
        default:
          return undefined;
      }
    },
  };
}
