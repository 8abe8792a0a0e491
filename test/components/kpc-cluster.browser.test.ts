import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { html } from 'lit';
import { KpcCluster, KpcNode, type ClusterContext } from '../../components/index.js';
import type { StateChange } from '../../src/state/machine.js';
import { allReadyWith, cleanup, fixture, nextEvent, part, unique, waitFor } from './util.js';

/** Renders `<kpc-cluster>` with `n` autostarting nodes; returns the cluster and its nodes. */
function cluster(signaling: string, clusterId: string, n: number, slot: string) {
  const root = fixture(html`
    <kpc-cluster signaling=${signaling} cluster-id=${clusterId}>
      ${Array.from({ length: n }, (_, i) => html`<kpc-node autostart identity-slot=${`${slot}-${i}`}></kpc-node>`)}
    </kpc-cluster>
  `);
  const el = root.querySelector('kpc-cluster')!;
  return { el, nodes: [...el.querySelectorAll('kpc-node')] };
}

describe('<kpc-cluster> with <kpc-node>s', function () {
  this.timeout(60_000);
  let signaling: string;

  before(async () => {
    signaling = await executeServerCommand<string, undefined>('signal-url');
  });
  afterEach(cleanup);

  it('is defined, renders a slot and provides its settings and registry', async () => {
    const id = unique();
    const { el, nodes } = cluster(`${signaling}, ${signaling}`, id, 1, 'tc-define');
    expect(el).to.be.instanceOf(KpcCluster);
    await el.updateComplete;
    expect(part(el, 'slot')).to.exist;
    expect(getComputedStyle(el).display).to.equal('block');
    const ctx: ClusterContext = el.context;
    expect(ctx.clusterId).to.equal(id);
    expect(ctx.signaling).to.deep.equal([signaling, signaling]);
    expect(ctx.iceServers).to.deep.equal([]);
    expect(ctx.registry).to.equal(el.registry);
    expect(nodes[0]).to.be.instanceOf(KpcNode);
  });

  it('brings every node to READY, each showing the right peer count', async () => {
    const { el, nodes } = cluster(signaling, unique(), 3, 'tc-ready');
    await waitFor(() => allReadyWith(nodes, 2), 30_000, 'three READY nodes with 2 peers each');
    expect(el.registry.nodes).to.have.length(3);
    expect(new Set(el.registry.nodes)).to.deep.equal(new Set(nodes.map((n) => n.node)));
    for (const n of nodes) {
      expect(part(n, '[part=peers]').textContent).to.contain('2 peers');
      expect(part(n, '[part=id]').textContent?.trim()).to.equal(n.nodeId!.slice(0, 8));
      expect(part(n, '[part=state]').getAttribute('data-state')).to.equal('READY');
      expect(part(n, '[part=signaling]').textContent).to.contain('1/1');
      expect(n.node!.options.clusterId).to.equal(el.clusterId);
    }
  });

  it('fires kpc-state-change in lifecycle order and kpc-ready for each node', async () => {
    const id = unique();
    const changes = new Map<EventTarget, StateChange[]>();
    const ready = new Map<EventTarget, string>();
    const root = document.createElement('div');
    root.addEventListener('kpc-state-change', (ev) => {
      const list = changes.get(ev.target!) ?? [];
      list.push((ev as CustomEvent<StateChange>).detail);
      changes.set(ev.target!, list);
    });
    root.addEventListener('kpc-ready', (ev) => ready.set(ev.target!, (ev as CustomEvent<{ nodeId: string }>).detail.nodeId));
    const container = fixture(html``);
    container.append(root);
    root.innerHTML = `<kpc-cluster signaling="${signaling}" cluster-id="${id}">
      <kpc-node autostart identity-slot="tc-order-0"></kpc-node><kpc-node autostart identity-slot="tc-order-1"></kpc-node>
    </kpc-cluster>`;
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith(nodes, 1), 30_000, 'two READY nodes');
    for (const n of nodes) {
      const list = changes.get(n)!;
      expect(list[0].from).to.equal('BOOTSTRAP');
      expect(list[0].to).to.equal('DISCOVERING');
      list.forEach((c, i) => {
        if (i > 0) expect(c.from, `change ${i} of ${n.nodeId}`).to.equal(list[i - 1].to);
        expect(c.cause).to.be.a('string');
      });
      expect(list.map((c) => c.to)).to.include('READY');
      expect(list.map((c) => c.to)).to.deep.equal(n.node!.history.map((c) => c.to));
      expect(ready.get(n)).to.equal(n.nodeId);
    }
  });

  it('propagates attribute changes: a new cluster id restarts the nodes in the new cluster', async () => {
    const { el, nodes } = cluster(signaling, unique(), 3, 'tc-attr');
    await waitFor(() => allReadyWith(nodes, 2), 30_000, 'first cluster READY');
    const before = el.context;
    const oldNodes = nodes.map((n) => n.node!);
    const next = unique();
    el.setAttribute('cluster-id', next);
    await el.updateComplete;
    expect(el.context).to.not.equal(before);
    expect(el.context.clusterId).to.equal(next);
    expect(el.context.registry).to.equal(before.registry);
    await waitFor(() => nodes.every((n) => n.node !== null && n.node.options.clusterId === next), 20_000, 'nodes restarted');
    await waitFor(() => allReadyWith(nodes, 2), 30_000, 'second cluster READY');
    for (const old of oldNodes) expect(old.state).to.equal('OFFLINE');
    const ids = (list: readonly ({ nodeId?: string; state: string } | null)[]) => list.map((n) => `${n?.nodeId}:${n?.state}`).sort();
    await waitFor(() => ids(el.registry.nodes).join() === ids(nodes.map((n) => n.node)).join(), 20_000, 'registry holds exactly the new nodes');
    expect(ids(el.registry.nodes)).to.deep.equal(ids(nodes.map((n) => n.node)));
  });

  it('propagates a signaling change to the nodes', async () => {
    const { el, nodes } = cluster(signaling, unique(), 2, 'tc-sig');
    await waitFor(() => allReadyWith(nodes, 1), 30_000, 'READY on the first server');
    const second = await executeServerCommand<{ id: string; url: string }, undefined>('signal-start');
    try {
      el.signaling = `${signaling},${second.url}`;
      await waitFor(() => nodes.every((n) => n.node!.options.signaling.length === 2), 20_000, 'nodes on two servers');
      await waitFor(() => allReadyWith(nodes, 1), 30_000, 'READY on two servers');
      await waitFor(() => nodes.every((n) => part(n, '[part=signaling]').textContent!.includes('2/2')), 20_000, 'both servers connected');
    } finally {
      await cleanup();
      await executeServerCommand('signal-stop', { id: second.id });
    }
  });

  it('passes ice-servers to the nodes and reports an invalid value with kpc-error', async () => {
    const { el, nodes } = cluster(signaling, unique(), 1, 'tc-ice');
    await waitFor(() => nodes[0].node !== null, 20_000, 'node created');
    const ice = [{ urls: 'stun:127.0.0.1:3478' }];
    el.setAttribute('ice-servers', JSON.stringify(ice));
    await waitFor(() => JSON.stringify(nodes[0].node?.options.iceServers) === JSON.stringify(ice), 20_000, 'node restarted with the ICE servers');
    expect(el.context.iceServers).to.deep.equal(ice);
    const error = nextEvent<{ error: Error }>(el, 'kpc-error');
    el.setAttribute('ice-servers', '{not json');
    expect((await error).detail.error.message).to.contain('ice-servers');
    expect(el.context.iceServers).to.deep.equal([]);
  });
});
