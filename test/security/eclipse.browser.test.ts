import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { generateIdentity } from '../../src/crypto/index.js';
import { MessageType, encodeEnvelope, envelopeToText } from '../../src/protocol/index.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { testNode } from '../helpers/nodes.js';

describe('eclipse (spec §8.1): several signaling servers, one of them lying', function () {
  this.timeout(60_000);

  it('a server that hides honest nodes and announces only attacker identities does not stop the mesh', async () => {
    const honest = (await executeServerCommand('signal-url')) as string;
    const liar = (await executeServerCommand('liar-start')) as { id: string; url: string };
    const cluster = uniqueCluster('eclipse');
    const attacker = new WebSocket(liar.url);
    await new Promise((r) => (attacker.onopen = r));
    attacker.send(JSON.stringify({ type: 'attacker' }));
    // Twelve identities that exist only in the liar's announces: dialling them leads nowhere.
    const fakes = Array.from({ length: 12 }, () => generateIdentity());
    let seq = 0;
    const lie = () => {
      for (const f of fakes) {
        const env = encodeEnvelope(f, { type: MessageType.ANNOUNCE, seq: ++seq, timestamp: Date.now(), body: { clusterId: cluster, state: 'READY' } });
        attacker.send(JSON.stringify({ type: 'publish', topic: `kpc/v1/${cluster}`, data: envelopeToText(env) }));
      }
    };
    lie();
    const liarTimer = setInterval(lie, 300);
    const nodes = [0, 1, 2, 3].map(
      () => testNode(cluster, [liar.url, honest]),
    );
    try {
      await Promise.all(nodes.map((n) => n.start()));
      await waitFor(() => nodes.every((n) => n.peers.length === 3), 'the four honest nodes fully linked despite the liar');
      const honestIds = new Set(nodes.map((n) => n.nodeId));
      for (const n of nodes) expect(n.peers.every((p) => honestIds.has(p.nodeId))).to.equal(true);
    } finally {
      clearInterval(liarTimer);
      attacker.close();
      await Promise.all(nodes.map((n) => n.stop()));
      await executeServerCommand('signal-stop', { id: liar.id });
    }
  });
});
