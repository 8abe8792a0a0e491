import { expect } from 'chai';
import { isKpcError } from '../../src/errors.js';
import { RegenWorker, handleRegenRequest } from '../../src/compute/index.js';
import { generateLayer, type LayerSpec } from '../../src/math/index.js';
import { rejection } from '../helpers/rejection.js';

// Mocha globals, provided by web-test-runner.
declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => void | Promise<void>) => void;

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

describe('RegenWorker (module Worker)', () => {
  it('runs in a real Worker here', () => {
    const w = new RegenWorker();
    expect(w.inThread).to.equal(false);
    w.terminate();
  });

  it('returns the same bytes as generateLayer in-thread', async () => {
    const w = new RegenWorker();
    try {
      const specs: LayerSpec[] = [
        { seed: 42, layer: 3, rows: 256, cols: 1000 },
        { seed: 1, layer: 0, rows: 7, cols: 13 },
        { seed: 0xffffffff, layer: 2, rows: 3, cols: 577, tensor: 4 },
      ];
      // Several in flight at once: answers are matched by id.
      const layers = await Promise.all(specs.map((s) => w.generateLayer(s)));
      layers.forEach((layer, i) => expect(sameBytes(layer, generateLayer(specs[i])), `spec ${i}`).to.equal(true));
      expect(w.pendingCount).to.equal(0);
    } finally {
      w.terminate();
    }
  });

  it('rejects a bad shape with KpcError MATH_INVALID_SHAPE, and keeps working', async () => {
    const w = new RegenWorker();
    try {
      const err = await rejection(w.generateLayer({ seed: 1, layer: 0, rows: 0, cols: 4 }));
      expect(isKpcError(err, 'MATH_INVALID_SHAPE'), String(err)).to.equal(true);
      const ok = await w.generateLayer({ seed: 1, layer: 0, rows: 2, cols: 4 });
      expect(ok.length).to.equal(8);
    } finally {
      w.terminate();
    }
  });

  it('rejects pending and later requests with COMPUTE_WORKER_FAILED after terminate()', async () => {
    const w = new RegenWorker();
    const pending = w.generateLayer({ seed: 1, layer: 0, rows: 1000, cols: 1000 });
    w.terminate();
    expect(isKpcError(await rejection(pending), 'COMPUTE_WORKER_FAILED')).to.equal(true);
    expect(isKpcError(await rejection(w.generateLayer({ seed: 1, layer: 0, rows: 1, cols: 1 })), 'COMPUTE_WORKER_FAILED')).to.equal(true);
  });

  it('rejects a spec that cannot be sent with COMPUTE_WORKER_FAILED', async () => {
    const w = new RegenWorker();
    try {
      const spec = { seed: 1, layer: 0, rows: 1, cols: 1, extra: () => 0 } as unknown as LayerSpec;
      expect(isKpcError(await rejection(w.generateLayer(spec)), 'COMPUTE_WORKER_FAILED')).to.equal(true);
    } finally {
      w.terminate();
    }
  });

  it('receives the whole layer buffer, which the Worker transfers', async () => {
    // The Worker's handler lists the layer's buffer for transfer (so 4 MB move instead of copying)…
    const { response, transfer } = handleRegenRequest({ id: 7, op: 'layer', spec: { seed: 2, layer: 1, rows: 10, cols: 10 } });
    expect(response.ok).to.equal(true);
    expect(transfer).to.have.length(1);
    expect(response.ok && transfer[0] === response.buffer).to.equal(true);
    // …and a real postMessage with that list detaches it on the sending side.
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<ArrayBuffer>((resolve) => (port2.onmessage = (ev) => resolve((ev.data as { buffer: ArrayBuffer }).buffer)));
    port1.postMessage(response, transfer);
    expect((transfer[0] as ArrayBuffer).byteLength).to.equal(0);
    expect((await received).byteLength).to.equal(400);
    port1.close();
    port2.close();
    // Through the RegenWorker the page gets a Float32Array over exactly that buffer.
    const w = new RegenWorker();
    try {
      const layer = await w.generateLayer({ seed: 2, layer: 1, rows: 10, cols: 10 });
      expect(layer.byteOffset).to.equal(0);
      expect(layer.buffer.byteLength).to.equal(400);
    } finally {
      w.terminate();
    }
  });

  it('reports unknown operations with a KpcError code', () => {
    const { response } = handleRegenRequest({ id: 1, op: 'nope' });
    expect(response).to.include({ id: 1, ok: false, code: 'COMPUTE_WORKER_FAILED' });
  });
});
