import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { html } from 'lit';
import { KpcNode, type KpcErrorDetail, type KpcSignalingDetail } from '../../components/index.js';
import { describeRecovery } from '../../components/kpc-node/kpc-node.js';
import type { PeerInfo } from '../../src/mesh/types.js';
import { RECOVERY_STRATEGIES, type RecoveryEvent } from '../../src/recovery.js';
import type { StateChange } from '../../src/state/machine.js';
import { allReadyWith, cleanup, fixture, nextEvent, part, parts, unique, waitFor } from './util.js';

/** `phase|text` of the `recovery` part ('' while absent), as rendered. */
function shownRecovery(el: KpcNode): string {
  const p = el.shadowRoot?.querySelector('[part=recovery]');
  return p ? `${p.getAttribute('data-phase')}|${p.textContent?.trim()}` : '';
}

/** The `recovery` part now, then every distinct rendering of it (a MutationObserver sees each render). */
function recordRecovery(el: KpcNode): { shown: string[]; stop: () => void } {
  const shown: string[] = [shownRecovery(el)];
  const mo = new MutationObserver(() => {
    const now = shownRecovery(el);
    if (shown.at(-1) !== now) shown.push(now);
  });
  mo.observe(el.shadowRoot!, { subtree: true, childList: true, characterData: true, attributes: true });
  return { shown, stop: () => mo.disconnect() };
}

/** The events of the first ladder run, up to the step that restored health; null until one did. */
function firstLadder(events: readonly RecoveryEvent[]): RecoveryEvent[] | null {
  const end = events.findIndex((e) => e.phase !== 'start' && e.healthy === true);
  return end < 0 ? null : events.slice(0, end + 1);
}

/** True when `events` climb the ladder: each strategy a start then an end, in spec §7 order. */
function inLadderOrder(events: readonly RecoveryEvent[]): boolean {
  return events.length % 2 === 0 && events.every((e, i) => e.strategy === RECOVERY_STRATEGIES[i >> 1] && (i % 2 === 0) === (e.phase === 'start'));
}

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
    expect(parts(el, '[part=recovery]'), 'no recovery part before any recovery').to.have.length(0);
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
    // Five keys: the two written here and each node's announced model budget (cluster/capacity/<id>).
    await waitFor(() => nodes.every((n) => part(n, '[part=sync]').getAttribute('data-keys') === '5'), 20_000, 'five keys shown everywhere');
    const decisions: string[] = [];
    nodes[2].addEventListener('kpc-decision', (ev) => decisions.push((ev as CustomEvent<{ kind: string }>).detail.kind));
    await nodes[0].node!.propose('evict', { nodeId: 'f'.repeat(32), reason: 'demo' });
    await waitFor(() => nodes.every((n) => part(n, '[part=decision]')?.getAttribute('data-kind') === 'evict'), 20_000, 'decision shown everywhere');
    expect(decisions).to.deep.equal(['evict']);
  });

  it('a crashed peer: the others show reconnectPeers running, then its outcome, fire kpc-recovery in order and are READY again', async () => {
    const root = fixture(html`
      <kpc-cluster signaling=${signaling} cluster-id=${unique()}>
        ${[0, 1, 2, 3].map((i) => html`<kpc-node autostart heartbeat-ms="300" identity-slot=${`tn-rec-${i}`}></kpc-node>`)}
      </kpc-cluster>
    `);
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith(nodes, 3), 30_000, 'four READY nodes');
    const crashed = nodes[3];
    const rest = nodes.slice(0, 3);
    const events = rest.map(() => [] as RecoveryEvent[]);
    const fromNode = rest.map(() => [] as RecoveryEvent[]);
    rest.forEach((el, i) => {
      el.addEventListener('kpc-recovery', (ev) => events[i].push(ev.detail));
      el.node!.addEventListener('recovery', (ev) => fromNode[i].push((ev as CustomEvent<RecoveryEvent>).detail));
    });
    const recorders = rest.map(recordRecovery);

    crashed.node!.faults.crash(); // a killed tab: links drop under the others, no goodbye
    await waitFor(() => events.every((e) => firstLadder(e) !== null) && allReadyWith(rest, 2), 30_000, 'the others recovered and READY with 2 peers');
    await Promise.all(rest.map((el) => el.updateComplete));
    recorders.forEach((r) => r.stop());
    for (const [i, el] of rest.entries()) {
      expect(events[i], 'kpc-recovery mirrors the node').to.deep.equal(fromNode[i]);
      const ladder = firstLadder(events[i])!;
      const steps = JSON.stringify(ladder);
      expect(inLadderOrder(ladder), `steps in ladder order: ${steps}`).to.equal(true);
      expect(ladder[0].strategy, steps).to.equal('reconnectPeers');
      expect(recorders[i].shown[1], 'the running strategy shown first').to.equal('start|recovering: reconnectPeers…');
      const fixedBy = ladder.at(-1)!;
      expect(recorders[i].shown, steps).to.include(`${fixedBy.phase}|recovered by ${fixedBy.strategy}`);
      expect(el.node!.history.some((c) => c.cause === `recovered by ${fixedBy.strategy}`)).to.equal(true);
      const last = events[i].at(-1)!;
      expect(shownRecovery(el), 'the part shows the last step').to.equal(`${last.phase}|${describeRecovery(last)}`);
      const p = part(el, '[part=recovery]');
      expect(p.getAttribute('data-strategy')).to.equal(last.strategy);
      expect(p.hasAttribute('data-healthy')).to.equal(last.healthy === true);
    }
  });

  it('a corrupted weight cache: the ladder climbs to resetMathEngine, one kpc-recovery per step (health-check-ms)', async () => {
    const id = unique();
    const root = fixture(html`
      <div>
        ${[0, 1].map((i) => html`<kpc-node autostart signaling=${signaling} cluster-id=${id} heartbeat-ms="300" health-check-ms="200" identity-slot=${`tn-math-${i}`}></kpc-node>`)}
      </div>
    `);
    const [el] = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => allReadyWith([...root.querySelectorAll('kpc-node')], 1), 30_000, 'a READY pair');
    expect(el.node!.options.healthCheckMs).to.equal(200);
    const events: RecoveryEvent[] = [];
    el.addEventListener('kpc-recovery', (ev) => events.push(ev.detail));
    for await (const t of el.node!.generate('x', { model: 'kpc-tiny', maxTokens: 2 })) void t;
    expect(el.node!.faults.corruptWeightCache()).to.be.a('string');
    // The first healthy end from resetMathEngine's on.
    const fixed = () => {
      const reset = events.findIndex((e) => e.strategy === 'resetMathEngine' && e.phase === 'ok');
      return reset < 0 ? -1 : events.findIndex((e, i) => i >= reset && e.phase !== 'start' && e.healthy === true);
    };
    await waitFor(() => fixed() >= 0 && el.state === 'READY', 30_000, 'recovered after resetMathEngine');
    // The ladder that fixed it (a link flap under load may have run one before it).
    const end = fixed();
    const ladder = events.slice(events.map((e) => e.strategy === 'reconnectPeers' && e.phase === 'start').lastIndexOf(true, end), end + 1);
    const steps = ladder.map((e) => `${e.strategy}:${e.phase}`);
    expect(inLadderOrder(ladder), JSON.stringify(ladder)).to.equal(true);
    // Normally: reconnectPeers and resyncState succeed but leave the cache corrupted; resetMathEngine fixes it.
    expect(steps.slice(0, 6), JSON.stringify(ladder)).to.deep.equal(['reconnectPeers:start', 'reconnectPeers:ok', 'resyncState:start', 'resyncState:ok', 'resetMathEngine:start', 'resetMathEngine:ok']);
    await el.updateComplete;
    const by = ladder.at(-1)!.strategy;
    expect(shownRecovery(el)).to.equal(`ok|recovered by ${by}`);
    expect(part(el, '[part=recovery]').getAttribute('data-strategy')).to.equal(by);
  });

  it('describes each recovery step', () => {
    const at = 0;
    expect(describeRecovery({ strategy: 'reconnectPeers', phase: 'start', at })).to.equal('recovering: reconnectPeers…');
    expect(describeRecovery({ strategy: 'reconnectPeers', phase: 'ok', healthy: true, at })).to.equal('recovered by reconnectPeers');
    expect(describeRecovery({ strategy: 'resyncState', phase: 'ok', healthy: false, at })).to.equal('resyncState did not restore health');
    expect(describeRecovery({ strategy: 'resetMathEngine', phase: 'failed', healthy: false, at })).to.equal('resetMathEngine failed');
    expect(describeRecovery({ strategy: 'hardReset', phase: 'timeout', healthy: false, at })).to.equal('hardReset timed out');
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
    root.innerHTML = `<kpc-node autostart signaling="${signaling}" cluster-id="${unique()}" min-peers="lots" health-check-ms="0" pow-difficulty="-1" identity-slot="tn-bad"></kpc-node>`;
    const { message } = (await error).detail.error;
    expect(message).to.contain('min-peers');
    expect(message).to.contain('health-check-ms');
    expect(message).to.contain('pow-difficulty');
    const el = root.firstElementChild as KpcNode;
    el.removeAttribute('health-check-ms');
    el.removeAttribute('pow-difficulty');
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
      <kpc-cluster signaling=${signaling} cluster-id=${clusterId} pow-difficulty="12">
        <kpc-node autostart cluster-id=${own} identity-slot="tn-own" heartbeat-ms="1000" health-check-ms="2000" min-peers="2"></kpc-node>
      </kpc-cluster>
    `);
    const el = root.querySelector('kpc-node')!;
    await waitFor(() => el.node !== null, 20_000, 'node created');
    // The cluster's admission setting reaches the node unless it sets its own; 0 turns it off.
    expect(el.node!.options.admission).to.deep.equal({ difficulty: 12 });
    expect(el.node!.options.clusterId).to.equal(own);
    expect(el.node!.options.signaling).to.deep.equal([signaling]);
    expect(el.node!.options.heartbeatMs).to.equal(1000);
    expect(el.node!.options.healthCheckMs).to.equal(2000);
    expect(el.node!.options.minPeers).to.equal(2);
    expect(el.node!.options.identitySlot).to.equal('tn-own');
    expect(root.querySelector('kpc-cluster')!.registry.nodes).to.deep.equal([el.node]);
    el.setAttribute('pow-difficulty', '0');
    await waitFor(() => el.node?.options.admission === false, 20_000, 'restarted without admission');
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
