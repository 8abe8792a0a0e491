import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { html } from 'lit';
import { KpcNode, type KpcErrorDetail, type KpcSignalingDetail } from '../../components/index.js';
import type { PeerInfo } from '../../src/mesh/types.js';
import type { StateChange } from '../../src/state/machine.js';
import { allReadyWith, cleanup, fixture, nextEvent, part, parts, unique, waitFor } from './util.js';

describe('<kpc-node>', function () {
  this.timeout(60_000);
  let signaling: string;

  before(async () => {
    signaling = await executeServerCommand<string, undefined>('signal-url');
  });
  afterEach(cleanup);

  it('standalone: its own signaling and cluster-id start a node that is READY alone', async () => {
    const el = fixture(html`<kpc-node autostart signaling=${signaling} cluster-id=${unique()} identity-slot="tn-alone"></kpc-node>`).firstElementChild as KpcNode;
    expect(el).to.be.instanceOf(KpcNode);
    const connected = nextEvent<KpcSignalingDetail>(el, 'kpc-signaling-change');
    await waitFor(() => allReadyWith([el], 0), 20_000, 'READY alone');
    expect((await connected).detail).to.deep.equal({ url: signaling, connected: true });
    expect(part(el, '[part=peers]').textContent).to.contain('0 peers');
    expect(part(el, '[part=id]').textContent?.trim()).to.match(/^[0-9a-f]{8}$/);
    expect(part(el, '[part=id]').getAttribute('title')).to.equal(el.nodeId);
    expect(part(el, '[part=signaling]').getAttribute('data-status')).to.equal('all');
    expect(parts(el, '[part=base], [part=state], [part=id], [part=peers], [part=signaling]')).to.have.length(5);
  });

  it('two standalone nodes with the same settings link: kpc-peers-change and 1 peer each', async () => {
    const id = unique();
    const peerEvents: PeerInfo[][] = [];
    const root = fixture(html`
      <div @kpc-peers-change=${(ev: CustomEvent<PeerInfo[]>) => peerEvents.push(ev.detail)}>
        <kpc-node autostart signaling=${signaling} cluster-id=${id} identity-slot="tn-pair-0"></kpc-node>
        <kpc-node autostart signaling=${signaling} cluster-id=${id} identity-slot="tn-pair-1"></kpc-node>
      </div>
    `);
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith(nodes, 1), 30_000, 'a READY pair');
    expect(nodes[0].peers[0].nodeId).to.equal(nodes[1].nodeId);
    expect(nodes[1].peers[0].nodeId).to.equal(nodes[0].nodeId);
    expect(peerEvents.some((list) => list.length === 1)).to.equal(true);
  });

  it('shows sync progress and the last cluster decision', async () => {
    const id = unique();
    const root = fixture(html`
      <div>
        ${[0, 1, 2].map((i) => html`<kpc-node autostart signaling=${signaling} cluster-id=${id} identity-slot=${`tn-sync-${i}`}></kpc-node>`)}
      </div>
    `);
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith(nodes, 2) && nodes.every((n) => n.peers.every((p) => p.state === 'READY')), 30_000, 'three READY nodes');
    await nodes[0].node!.put('demo/a', 1);
    await nodes[1].node!.put('demo/b', 2);
    await waitFor(() => nodes.every((n) => part(n, '[part=sync]').getAttribute('data-keys') === '2'), 20_000, 'two keys shown everywhere');
    const decisions: string[] = [];
    nodes[2].addEventListener('kpc-decision', (ev) => decisions.push((ev as CustomEvent<{ kind: string }>).detail.kind));
    await nodes[0].node!.propose('evict', { nodeId: 'f'.repeat(32), reason: 'demo' });
    await waitFor(() => nodes.every((n) => part(n, '[part=decision]')?.getAttribute('data-kind') === 'evict'), 20_000, 'decision shown everywhere');
    expect(decisions).to.deep.equal(['evict']);
  });

  it('without autostart stays IDLE; start() and stop() drive a fresh node each run', async () => {
    const el = fixture(html`<kpc-node signaling=${signaling} cluster-id=${unique()} identity-slot="tn-manual"></kpc-node>`).firstElementChild as KpcNode;
    await el.updateComplete;
    expect(el.node).to.equal(null);
    expect(el.state).to.equal('IDLE');
    expect(part(el, '[part=state]').textContent?.trim()).to.equal('IDLE');

    await el.start();
    const first = el.node!;
    expect(first).to.not.equal(null);
    await waitFor(() => el.state === 'READY', 20_000, 'READY after start()');
    await el.start(); // already running with these settings: a no-op
    expect(el.node).to.equal(first);

    const offline = new Promise<StateChange>((resolve) =>
      el.addEventListener('kpc-state-change', (ev) => ev.detail.to === 'OFFLINE' && resolve(ev.detail)),
    );
    await el.stop();
    expect((await offline).from).to.equal('READY');
    expect(first.state).to.equal('OFFLINE');
    await el.updateComplete;
    expect(part(el, '[part=state]').textContent?.trim()).to.equal('OFFLINE');

    await el.start();
    expect(el.node).to.not.equal(first);
    await waitFor(() => el.state === 'READY', 20_000, 'READY after a second start()');
  });

  it('reports missing settings with kpc-error, rejects start() and shows the error', async () => {
    const root = fixture(html`<div></div>`);
    const error = nextEvent<KpcErrorDetail>(root, 'kpc-error');
    root.innerHTML = '<kpc-node autostart identity-slot="tn-missing"></kpc-node>';
    const el = root.firstElementChild as KpcNode;
    const { detail } = await error;
    expect(detail.error.name).to.equal('KpcError');
    expect((detail.error as Error & { code: string }).code).to.equal('CONFIG_INVALID');
    expect(detail.error.message).to.contain('signaling');
    await el.updateComplete;
    expect(part(el, '[part=error]').textContent).to.contain('cluster id');
    expect(el.node).to.equal(null);
    let rejected: unknown = null;
    await el.start().catch((e: unknown) => (rejected = e));
    expect(rejected).to.be.instanceOf(Error);
  });

  it('rejects invalid numeric attributes', async () => {
    const root = fixture(html`<div></div>`);
    const error = nextEvent<KpcErrorDetail>(root, 'kpc-error');
    root.innerHTML = `<kpc-node autostart signaling="${signaling}" cluster-id="${unique()}" min-peers="lots" identity-slot="tn-bad"></kpc-node>`;
    expect((await error).detail.error.message).to.contain('min-peers');
    const el = root.firstElementChild as KpcNode;
    el.setAttribute('min-peers', '1');
    await waitFor(() => el.state === 'READY', 20_000, 'READY once the value is fixed');
    expect(el.node!.options.minPeers).to.equal(1);
    expect(el.shadowRoot!.querySelector('[part=error]')).to.equal(null);
  });

  it('re-dispatches rejected inputs as kpc-error with their source', async () => {
    const id = unique();
    const el = fixture(html`<kpc-node autostart signaling=${signaling} cluster-id=${id} identity-slot="tn-reject"></kpc-node>`).firstElementChild as KpcNode;
    await waitFor(() => el.state === 'READY', 20_000, 'READY');
    const ws = new WebSocket(signaling);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    try {
      const error = nextEvent<KpcErrorDetail>(el, 'kpc-error');
      ws.send(JSON.stringify({ type: 'publish', topic: `kpc/v1/${id}`, data: 'this is no envelope' }));
      const { detail } = await error;
      expect(detail.error.name).to.equal('KpcError');
      expect(detail.source).to.equal(signaling);
      expect(el.state).to.equal('READY');
    } finally {
      ws.close();
    }
  });

  it('its own attributes win over the cluster context', async () => {
    const clusterId = unique();
    const own = unique();
    const root = fixture(html`
      <kpc-cluster signaling=${signaling} cluster-id=${clusterId}>
        <kpc-node autostart cluster-id=${own} identity-slot="tn-own" heartbeat-ms="1000" min-peers="2"></kpc-node>
      </kpc-cluster>
    `);
    const el = root.querySelector('kpc-node')!;
    await waitFor(() => el.node !== null, 20_000, 'node created');
    expect(el.node!.options.clusterId).to.equal(own);
    expect(el.node!.options.signaling).to.deep.equal([signaling]);
    expect(el.node!.options.heartbeatMs).to.equal(1000);
    expect(el.node!.options.minPeers).to.equal(2);
    expect(el.node!.options.identitySlot).to.equal('tn-own');
    expect(root.querySelector('kpc-cluster')!.registry.nodes).to.deep.equal([el.node]);
  });

  it('restarts with the new setting when its own attribute changes while running', async () => {
    const el = fixture(html`<kpc-node autostart signaling=${signaling} cluster-id=${unique()} identity-slot="tn-change"></kpc-node>`).firstElementChild as KpcNode;
    await waitFor(() => el.state === 'READY', 20_000, 'READY');
    const first = el.node!;
    const next = unique();
    el.clusterId = next;
    await waitFor(() => el.node !== first && el.state === 'READY', 20_000, 'READY in the new cluster');
    expect(el.node!.options.clusterId).to.equal(next);
    expect(first.state).to.equal('OFFLINE');
  });

  it('keeps its node when moved within the page, stops it when removed', async () => {
    const root = fixture(html`<div class="a"><kpc-node autostart signaling=${signaling} cluster-id=${unique()} identity-slot="tn-move"></kpc-node></div><div class="b"></div>`);
    const el = root.querySelector('kpc-node')!;
    await waitFor(() => el.state === 'READY', 20_000, 'READY');
    const node = el.node!;
    root.querySelector('.b')!.append(el);
    await el.updateComplete;
    await new Promise((r) => setTimeout(r, 0));
    expect(el.node).to.equal(node);
    expect(node.state).to.equal('READY');
    el.remove();
    await waitFor(() => node.state === 'OFFLINE', 20_000, 'stopped after removal');
  });
});
