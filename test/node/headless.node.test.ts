import { describe, it } from 'node:test';
import { expect } from 'chai';
import * as kpc from '../../src/index.js';

describe('headless core in Node', () => {
  it('imports without a DOM, and PiNode validates its options with typed errors', () => {
    expect(kpc.PiNode).to.be.a('function');
    expect(() => new kpc.PiNode({ clusterId: '', signaling: 'ws://x' })).to.throw(kpc.KpcError).with.property('code', 'CONFIG_INVALID');
    expect(() => new kpc.PiNode({ clusterId: 'c', signaling: ' , ' })).to.throw(kpc.KpcError).with.property('code', 'CONFIG_INVALID');
    expect(kpc.parseSignalingList('ws://a, ws://b,')).to.deep.equal(['ws://a', 'ws://b']);
  });

  it('regenerates through RegenWorker in-thread where there is no Worker, with the same bits', async () => {
    const worker = new kpc.RegenWorker();
    const spec = { seed: 7, layer: 1, rows: 16, cols: 33 };
    const out = await worker.generateLayer(spec);
    expect(Buffer.from(out.buffer).equals(Buffer.from(kpc.generateLayer(spec).buffer))).to.equal(true);
    worker.terminate();
  });
});
