import { describe, it } from 'node:test';
import { expect } from 'chai';
import { mergeTopologies } from '../../src/cluster.js';
import type { TopologyLink, TopologySnapshot } from '../../src/mesh/types.js';

/** A node's own view: itself first, then its links as it reports them. */
function view(self: string, links: TopologyLink[]): TopologySnapshot {
  const ids = new Set([self, ...links.flatMap((l) => [l.a, l.b])]);
  return { nodes: [...ids].map((nodeId) => ({ nodeId, state: 'READY' as const })), links };
}

describe('mergeTopologies: link health', () => {
  it('an end of a link knows its health; third nodes only relay that it exists', () => {
    // c hears nobody; a still hears b; d lost its link to c without a goodbye.
    // b relays (without health) the links it learned from heartbeats, c–d included.
    const merged = mergeTopologies([
      view('b', [{ a: 'a', b: 'b' }, { a: 'a', b: 'c' }, { a: 'c', b: 'd' }]),
      view('c', [{ a: 'a', b: 'c', health: 'suspect' }, { a: 'b', b: 'c', health: 'suspect' }]),
      view('a', [{ a: 'a', b: 'b' }, { a: 'a', b: 'c', health: 'suspect' }]),
      view('d', [{ a: 'c', b: 'd', health: 'dead' }]),
    ]);
    const health = Object.fromEntries(merged.links.map((l) => [`${l.a}|${l.b}`, l.health ?? 'ok']));
    expect(health).to.deep.equal({ 'a|b': 'ok', 'a|c': 'suspect', 'b|c': 'suspect', 'c|d': 'dead' });
  });

  it('between two ends the healthier view wins, and a reopened link is ok again', () => {
    const both = mergeTopologies([view('a', [{ a: 'a', b: 'b', health: 'suspect' }]), view('b', [{ a: 'a', b: 'b' }])]);
    expect(both.links).to.deep.equal([{ a: 'a', b: 'b' }]);
    const dead = mergeTopologies([view('a', [{ a: 'a', b: 'c', health: 'dead' }]), view('c', [{ a: 'a', b: 'c', health: 'suspect' }])]);
    expect(dead.links).to.deep.equal([{ a: 'a', b: 'c', health: 'suspect' }]);
  });

  it("a node's own state wins over what others report of it", () => {
    const merged = mergeTopologies([
      { nodes: [{ nodeId: 'a', state: 'READY' }, { nodeId: 'b', state: 'UNKNOWN' }], links: [{ a: 'a', b: 'b' }] },
      { nodes: [{ nodeId: 'b', state: 'DEGRADED' }, { nodeId: 'a', state: 'UNKNOWN' }], links: [{ a: 'a', b: 'b' }] },
    ]);
    expect(merged.nodes).to.deep.equal([{ nodeId: 'a', state: 'READY' }, { nodeId: 'b', state: 'DEGRADED' }]);
  });
});
