import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { html } from 'lit';
import { KpcMeshView, circleLayout, summarizeTopology } from '../../components/index.js';
import { ClusterRegistry } from '../../src/cluster.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { PiNode } from '../../src/node.js';
import { allReadyWith, cleanup, fixture, part, parts, unique, waitFor } from './util.js';
import { TEST_ADMISSION } from '../helpers/admission.js';

/** What the view draws: node ids, link keys and the summary label. */
function drawn(view: KpcMeshView) {
  return {
    nodes: parts(view, '[part=node]').map((g) => g.getAttribute('data-node-id')!),
    links: parts(view, '[part=link]').map((l) => `${l.getAttribute('data-a')}|${l.getAttribute('data-b')}`),
    label: part(view, '[part=svg]').getAttribute('aria-label'),
    title: part(view, '[part=svg] > title').textContent,
  };
}

/** The drawn links touching `nodeId`, as `data-health` by link key. */
function linksOf(view: KpcMeshView, nodeId: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of parts(view, '[part=link]')) {
    const a = l.getAttribute('data-a')!;
    const b = l.getAttribute('data-b')!;
    if (a === nodeId || b === nodeId) out.set(`${a}|${b}`, l.getAttribute('data-health')!);
  }
  return out;
}

/**
 * Records, from now on, every health each link touching `nodeId` is drawn with
 * (`gone` once it is no longer drawn) and every aria label: a MutationObserver
 * sees each render, however short-lived.
 */
function recordHealth(view: KpcMeshView, nodeId: string) {
  const history = new Map<string, string[]>();
  const labels = new Set<string>();
  const record = () => {
    const now = linksOf(view, nodeId);
    for (const key of new Set([...history.keys(), ...now.keys()])) {
      const h = history.get(key) ?? [];
      const health = now.get(key) ?? 'gone';
      if (h.at(-1) !== health) h.push(health);
      history.set(key, h);
    }
    labels.add(part(view, '[part=svg]').getAttribute('aria-label')!);
  };
  record();
  const mo = new MutationObserver(record);
  mo.observe(view.shadowRoot!, { subtree: true, childList: true, attributes: true });
  return { history, labels, stop: () => mo.disconnect() };
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
    const node = new PiNode({ admission: TEST_ADMISSION, clusterId: unique(), signaling, identity: generateIdentity() });
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

  it('draws the links to a crashed node dead (dotted, danger colour) for a while, then drops them', async () => {
    const root = fixture(html`
      <kpc-cluster signaling=${signaling} cluster-id=${unique()}>
        <kpc-mesh-view></kpc-mesh-view>
        ${[0, 1, 2, 3].map((i) => html`<kpc-node autostart heartbeat-ms="300" identity-slot=${`tv-dead-${i}`}></kpc-node>`)}
      </kpc-cluster>
    `);
    const view = root.querySelector('kpc-mesh-view')!;
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith(nodes, 3) && drawn(view).links.length === 6, 30_000, 'the full mesh drawn');
    await waitFor(() => parts(view, '[part=link]').every((l) => l.getAttribute('data-health') === 'ok'), 20_000, 'every link ok');
    expect(getComputedStyle(parts(view, '[part=link]')[0]).strokeDasharray).to.equal('none');
    const [crashed, ...rest] = [nodes[3], ...nodes.slice(0, 3)];
    const id = crashed.nodeId!;

    crashed.node!.faults.crash(); // a killed tab: no goodbye
    const dead = () => [...linksOf(view, id).values()];
    await waitFor(() => dead().length === 3 && dead().every((h) => h === 'dead'), 20_000, 'three dead links to the crashed node');
    const line = parts(view, `[part=link][data-health=dead]`).find((l) => l.getAttribute('data-a') === id || l.getAttribute('data-b') === id)!;
    expect(getComputedStyle(line).stroke).to.equal('rgb(185, 28, 28)'); // --kpc-color-danger default
    expect(getComputedStyle(line).strokeDasharray).to.not.equal('none');
    const deadNow = parts(view, '[part=link][data-health=dead]').length;
    expect(drawn(view).label).to.match(new RegExp(`\\b${deadNow} dead\\)$`));

    // The others recover without it; its dead links stay a while, then go.
    await waitFor(() => allReadyWith(rest, 2), 30_000, 'the others READY with 2 peers');
    await waitFor(() => linksOf(view, id).size === 0, 30_000, 'dead links dropped');
    // The crashed node itself is still registered: four nodes, three live links.
    await waitFor(() => drawn(view).label === '4 nodes, 3 links', 30_000, 'the three live links drawn, all ok');
    expect(parts(view, '[part=link]').map((l) => l.getAttribute('data-health'))).to.deep.equal(['ok', 'ok', 'ok']);
  });

  it('draws the links of a silent node suspect (dashed) before they drop', async () => {
    const root = fixture(html`
      <kpc-cluster signaling=${signaling} cluster-id=${unique()} style="--kpc-mesh-link-suspect-color: rgb(4, 5, 6); --kpc-mesh-link-dead-color: rgb(7, 8, 9)">
        <kpc-mesh-view></kpc-mesh-view>
        ${[0, 1, 2].map((i) => html`<kpc-node autostart heartbeat-ms="300" identity-slot=${`tv-silent-${i}`}></kpc-node>`)}
      </kpc-cluster>
    `);
    const view = root.querySelector('kpc-mesh-view')!;
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith(nodes, 2) && drawn(view).links.length === 3, 30_000, 'three READY nodes drawn');
    const silent = nodes[2];
    const id = silent.nodeId!;
    const rec = recordHealth(view, id);
    const colours = new Map<string, string>();
    const mo = new MutationObserver(() => {
      for (const l of parts(view, '[part=link][data-health=suspect], [part=link][data-health=dead]')) {
        const s = getComputedStyle(l);
        colours.set(l.getAttribute('data-health')!, `${s.stroke} ${s.strokeDasharray}`);
      }
    });
    mo.observe(view.shadowRoot!, { subtree: true, childList: true, attributes: true });

    silent.node!.faults.silence(true); // hung: links stay open, nothing said or read
    const dropped = () => [...linksOf(view, id).values()].every((h) => h === 'dead');
    await waitFor(() => rec.labels.size > 0 && [...rec.history.values()].some((h) => h.includes('suspect')) && dropped(), 20_000, 'suspect, then dropped');
    rec.stop();
    mo.disconnect();
    // A link that went from ok to suspect and only then dead (or out of the drawing).
    const seen = [...rec.history.values()];
    expect(seen.some((h) => h[0] === 'ok' && h[1] === 'suspect' && ['dead', 'gone'].includes(h[2])), JSON.stringify(seen)).to.equal(true);
    expect([...rec.labels].some((l) => /\(\d suspect/.test(l)), [...rec.labels].join(' / ')).to.equal(true);
    expect(colours.get('suspect')).to.match(/^rgb\(4, 5, 6\) (?!none)/);
    expect(colours.get('dead')).to.match(/^rgb\(7, 8, 9\) (?!none)/);
    await waitFor(() => allReadyWith(nodes.slice(0, 2), 1), 30_000, 'the other two READY together');
  });

  it('lays nodes out on a circle and summarises the graph', () => {
    const pts = circleLayout(4, 100, 100, 50);
    expect(pts[0].x).to.be.closeTo(100, 1e-9);
    expect(pts[0].y).to.be.closeTo(50, 1e-9);
    expect(pts[1].x).to.be.closeTo(150, 1e-9);
    expect(circleLayout(1, 10, 20, 99)).to.deep.equal([{ x: 10, y: 20 }]);
    expect(summarizeTopology({ nodes: [{ nodeId: 'a', state: 'READY' }], links: [] })).to.equal('1 node, 0 links');
    const nodes = ['a', 'b', 'c'].map((nodeId) => ({ nodeId, state: 'READY' as const }));
    expect(summarizeTopology({ nodes, links: [{ a: 'a', b: 'b' }, { a: 'a', b: 'c', health: 'suspect' }] })).to.equal('3 nodes, 2 links (1 suspect)');
    expect(summarizeTopology({ nodes, links: [{ a: 'a', b: 'b', health: 'dead' }, { a: 'a', b: 'c', health: 'suspect' }, { a: 'b', b: 'c', health: 'dead' }] })).to.equal(
      '3 nodes, 3 links (1 suspect, 2 dead)',
    );
  });
});
