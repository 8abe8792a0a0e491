// @ts-check
// PLACEHOLDER until the real server lands (being written now).
import { WebSocketServer } from 'ws';
export async function startSignalingServer({ host = '127.0.0.1', port = 0 } = {}) {
  const wss = new WebSocketServer({ host, port });
  await new Promise((r) => wss.once('listening', r));
  const topics = new Map();
  wss.on('connection', (ws) => {
    const mine = new Set();
    ws.on('message', (raw) => {
      let m; try { m = JSON.parse(String(raw)); } catch { return; }
      if (m.type === 'subscribe') for (const t of m.topics ?? []) { if (!topics.has(t)) topics.set(t, new Set()); topics.get(t).add(ws); mine.add(t); }
      else if (m.type === 'publish') for (const c of topics.get(m.topic) ?? []) c.send(JSON.stringify({ ...m, clients: topics.get(m.topic).size }));
      else if (m.type === 'ping') ws.send('{"type":"pong"}');
    });
    ws.on('close', () => mine.forEach((t) => topics.get(t)?.delete(ws)));
  });
  const a = /** @type {import('node:net').AddressInfo} */ (wss.address());
  return { url: `ws://${host}:${a.port}`, port: a.port, close: () => new Promise((r) => { wss.clients.forEach((c) => c.terminate()); wss.close(() => r(undefined)); }) };
}
