import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { html } from 'lit';
import { KpcMeshView, circleLayout, summarizeTopology } from '../../components/index.js';
import { ClusterRegistry } from '../../src/cluster.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { PiNode } from '../../src/node.js';
import { allReadyWith, cleanup, fixture, part, parts, unique, waitFor } from './util.js';

/** What the view draws: node ids, link keys and the summary label. */
function drawn(view: KpcMeshView) {
  return {
    nodes: parts(view, '[part=node]').map((g) => g.getAttribute('data-node-id')!),
    links: parts(view, '[part=link]').map((l) => `${l.getAttribute('data-a')}|${l.getAttribute('data-b')}`),
    label: part(view, '[part=svg]').getAttribute('aria-label'),
    title: part(view, '[part=svg] > title').textContent,
  };
}

describe('<kpc-mesh-view>', function () {
  this.timeout(60_000);
  let signaling: string;

  before(async () => {
    signaling = await executeServerCommand<string, undefined>('signal-url');
  });
  afterEach(cleanup);

  it('draws one [part=node] per node and every link once the mesh forms', async () => {
    const root = fixture(html`
      <kpc-cluster signaling=${signaling} cluster-id=${unique()}>
        <kpc-mesh-view width="300" height="200"></kpc-mesh-view>
        ${[0, 1, 2, 3].map((i) => html`<kpc-node autostart identity-slot=${`tv-mesh-${i}`}></kpc-node>`)}
      </kpc-cluster>
    `);
    const view = root.querySelector('kpc-mesh-view')!;
    const nodes = [...root.querySelectorAll('kpc-node')];
    expect(view).to.be.instanceOf(KpcMeshView);
    await waitFor(() => allReadyWith(nodes, 3), 30_000, 'four READY nodes');
    await waitFor(() => drawn(view).links.length === 6 && drawn(view).nodes.length === 4, 20_000, 'the full mesh drawn');
    const d = drawn(view);
    const ids = nodes.map((n) => n.nodeId!).sort();
    expect(d.nodes).to.deep.equal(ids); // stable order: by node id
    expect(d.label).to.equal('4 nodes, 6 links');
    expect(d.title).to.equal('4 nodes, 6 links');
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expect(d.links).to.include(`${ids[i]}|${ids[j]}`);
    await waitFor(() => parts(view, '[part=node]').every((g) => g.getAttribute('data-state') === 'READY'), 20_000, 'READY fills');
    for (const g of parts(view, '[part=node]')) {
      expect(g.hasAttribute('data-local')).to.equal(true);
      expect(g.querySelector('text')!.textContent).to.equal(g.getAttribute('data-node-id')!.slice(0, 8));
    }
    const svg = part(view, '[part=svg]');
    expect(svg.getAttribute('width')).to.equal('300');
    expect(svg.getAttribute('viewBox')).to.equal('0 0 300 200');
    expect(getComputedStyle(parts(view, '[part=node] circle')[0]).fill).to.equal('rgb(21, 128, 61)'); // --kpc-state-ready default
  });

  it('updates when a <kpc-node> is removed: its node stops and leaves the drawing', async () => {
    const root = fixture(html`
      <kpc-cluster signaling=${signaling} cluster-id=${unique()}>
        ${[0, 1, 2, 3].map((i) => html`<kpc-node autostart identity-slot=${`tv-rm-${i}`}></kpc-node>`)}
        <kpc-mesh-view></kpc-mesh-view>
      </kpc-cluster>
    `);
    const view = root.querySelector('kpc-mesh-view')!;
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith(nodes, 3) && drawn(view).links.length === 6, 30_000, 'the full mesh drawn');
    const [gone, ...rest] = nodes;
    const goneNode = gone.node!;
    gone.remove();
    await waitFor(() => goneNode.state === 'OFFLINE', 20_000, 'the removed node stopped');
    await waitFor(() => drawn(view).nodes.length === 3 && drawn(view).links.length === 3, 20_000, 'three nodes drawn');
    expect(drawn(view).nodes).to.not.include(goneNode.nodeId);
    expect(drawn(view).label).to.equal('3 nodes, 3 links');
    expect(root.querySelector('kpc-cluster')!.registry.nodes).to.not.include(goneNode);
    // A clean leave (GOODBYE) shrinks the membership, so the others stay READY with 2 links.
    await waitFor(() => allReadyWith(rest, 2) && rest.every((n) => part(n, '[part=peers]').getAttribute('data-count') === '2'), 20_000, 'the others READY with 2 peers');
  });

  it('colours nodes through the per-state custom properties', async () => {
    const root = fixture(html`
      <kpc-cluster signaling=${signaling} cluster-id=${unique()} style="--kpc-state-ready: rgb(1, 2, 3)">
        <kpc-node autostart identity-slot="tv-colour"></kpc-node>
        <kpc-mesh-view></kpc-mesh-view>
      </kpc-cluster>
    `);
    const view = root.querySelector('kpc-mesh-view')!;
    await waitFor(() => parts(view, '[part=node]')[0]?.getAttribute('data-state') === 'READY', 20_000, 'READY node drawn');
    expect(getComputedStyle(parts(view, '[part=node] circle')[0]).fill).to.equal('rgb(1, 2, 3)');
    const badge = part(root.querySelector('kpc-node')!, '[part=state]');
    expect(getComputedStyle(badge).backgroundColor).to.equal('rgb(1, 2, 3)');
  });

  it('draws a headless registry given as a property, and unsubscribes when disconnected', async () => {
    const registry = new ClusterRegistry();
    const view = fixture(html`<kpc-mesh-view .registry=${registry}></kpc-mesh-view>`).firstElementChild as KpcMeshView;
    await view.updateComplete;
    expect(drawn(view).label).to.equal('0 nodes, 0 links');
    expect(view.shadowRoot!.querySelector('.empty')!.textContent).to.contain('no nodes');
    const node = new PiNode({ clusterId: unique(), signaling, identity: generateIdentity() });
    try {
      registry.add(node);
      await node.start();
      await waitFor(() => drawn(view).nodes.length === 1 && drawn(view).nodes[0] === node.nodeId, 20_000, 'the headless node drawn');
      expect(drawn(view).label).to.equal('1 node, 0 links');

      const removed: string[] = [];
      const original = registry.removeEventListener.bind(registry);
      registry.removeEventListener = (type: string, ...rest: [EventListenerOrEventListenerObject | null, (boolean | EventListenerOptions)?]) => {
        removed.push(type);
        original(type, ...rest);
      };
      view.remove();
      expect(removed).to.include('change');
    } finally {
      await node.stop();
    }
  });

  it('lays nodes out on a circle and summarises the graph', () => {
    const pts = circleLayout(4, 100, 100, 50);
    expect(pts[0].x).to.be.closeTo(100, 1e-9);
    expect(pts[0].y).to.be.closeTo(50, 1e-9);
    expect(pts[1].x).to.be.closeTo(150, 1e-9);
    expect(circleLayout(1, 10, 20, 99)).to.deep.equal([{ x: 10, y: 20 }]);
    expect(summarizeTopology({ nodes: [{ nodeId: 'a', state: 'READY' }], links: [] })).to.equal('1 node, 0 links');
  });
});
