import { expect } from 'chai';
import { executeServerCommand } from '@web/test-runner-commands';
import type { KpcError } from '../../src/errors.js';
import { PiNode } from '../../src/node.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { testNode } from '../helpers/nodes.js';

/** Two-second epochs and no skew allowance: a proof lapses 2–4 s after it was solved. */
const SHORT = { difficulty: 8, epochMs: 2_000, maxClockSkewMs: 0 };

type Ticket = { proofText(): string | undefined; close(): void };
const ticketOf = (n: PiNode) => (n as unknown as { ticket: Ticket }).ticket;

describe('admission holds on links too: a peer whose proof lapses loses its links (spec §8.1)', function () {
  this.timeout(60_000);
  let nodes: PiNode[];
  let codes: Map<PiNode, { code: string; from?: string }[]>;

  beforeEach(async () => {
    const signaling = (await executeServerCommand('signal-url')) as string;
    const cluster = uniqueCluster('link-pow');
    nodes = [0, 1, 2].map(() => testNode(cluster, signaling, { admission: SHORT, heartbeatMs: 500 }));
    codes = new Map(nodes.map((n) => [n, []]));
    for (const n of nodes) {
      n.addEventListener('reject', (ev) => {
        const d = (ev as CustomEvent<{ error: KpcError; from?: string }>).detail;
        codes.get(n)!.push({ code: d.error.code, from: d.from });
      });
    }
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 2), 'three linked nodes');
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('links outlive the epochs while every node shows each new proof', async () => {
    const first = nodes.map((n) => ticketOf(n).proofText());
    const seen = nodes.map((n) => new Set([ticketOf(n).proofText()]));
    // Three proofs each: the first has lapsed by then, so only the re-shown ones kept the links.
    await waitFor(() => nodes.every((n, i) => seen[i].add(ticketOf(n).proofText()!).size >= 3), 'every node on its third proof');
    expect(nodes.map((n) => ticketOf(n).proofText())).to.not.deep.equal(first);
    expect(nodes.every((n) => n.peers.length === 2)).to.equal(true);
    for (const n of nodes) expect(codes.get(n)!.filter((c) => c.code === 'MESH_NOT_ADMITTED')).to.deep.equal([]);
  });

  it('a node that stops renewing its proof is dropped by both peers, who stay linked to each other', async () => {
    const [a, b, c] = nodes;
    ticketOf(c).close(); // no more re-solving: c keeps showing a proof that will lapse
    const dropped = (n: PiNode) => codes.get(n)!.some((x) => x.code === 'MESH_NOT_ADMITTED' && x.from === c.nodeId);
    await waitFor(() => dropped(a) && dropped(b), 'both peers refuse c');
    await waitFor(() => !a.peers.some((p) => p.nodeId === c.nodeId) && !b.peers.some((p) => p.nodeId === c.nodeId), 'c unlinked');
    expect(a.peers.map((p) => p.nodeId)).to.deep.equal([b.nodeId]);
    expect(b.peers.map((p) => p.nodeId)).to.deep.equal([a.nodeId]);
  });
});
