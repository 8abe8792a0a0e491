import { consume } from '@lit/context';
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { ClusterRegistry } from '../../src/cluster.js';
import { KpcError } from '../../src/errors.js';
import type { PeerInfo } from '../../src/mesh/types.js';
import { PiNode, parseSignalingList, type PiNodeOptions } from '../../src/node.js';
import type { StateChange } from '../../src/state/machine.js';
import type { Decision } from '../../src/consensus/index.js';
import type { RecoveryEvent } from '../../src/recovery.js';
import type { ModelProgressDetail } from '../../src/node-models.js';
import { clusterContext, type ClusterContext } from '../context.js';
import { EVENT_INIT, iceServersConverter, validIceServers } from '../shared/config.js';
import type { DisplayState } from '../shared/state-colors.js';
import { styles } from './kpc-node.styles.js';

/** Detail of `kpc-error`. */
export interface KpcErrorDetail {
  /** What went wrong; a `KpcError` (with a stable `code`) whenever the core raised it. */
  readonly error: Error;
  /** For a rejected input: where it came from (a signaling URL or `link:<nodeId>`). */
  readonly source?: string;
  /** For a rejected input: the node id that sent it, when known. */
  readonly from?: string;
}

/** Detail of `kpc-ready`. */
export interface KpcReadyDetail {
  /** This node's id. */
  readonly nodeId: string;
  /** Its open links at that moment. */
  readonly peers: readonly PeerInfo[];
}

/** Detail of `kpc-signaling-change`. */
export interface KpcSignalingDetail {
  /** The signaling URL. */
  readonly url: string;
  /** Whether the node can publish through it now. */
  readonly connected: boolean;
}

/**
 * What the `recovery` part says for a recovery event: the running strategy, or how
 * it ended (`recovered by …` when the node was healthy right after it).
 */
export function describeRecovery(e: RecoveryEvent): string {
  if (e.phase === 'start') return `recovering: ${e.strategy}…`;
  if (e.healthy) return `recovered by ${e.strategy}`;
  if (e.phase === 'failed') return `${e.strategy} failed`;
  if (e.phase === 'timeout') return `${e.strategy} timed out`;
  return `${e.strategy} did not restore health`;
}

/** Options resolved from the attributes and the cluster context, or why they cannot be. */
type Resolved = { key: string; options: PiNodeOptions; error?: undefined } | { key: string; options?: undefined; error: KpcError };

/** A bubbling, composed `CustomEvent` (the events are documented on the class). */
function kpcEvent<T>(type: string, detail: T): CustomEvent<T> {
  return new CustomEvent<T>(type, { ...EVENT_INIT, detail });
}

/** Empty and whitespace-only attributes count as unset, so the context fills them. */
function given(value: string | null | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * One π-node: this browser tab's membership in a kpc cluster.
 *
 * Inside a `<kpc-cluster>` it takes the cluster's settings and registers its node
 * in the cluster's registry; on its own it needs `signaling` and `cluster-id`
 * (its own attributes always win over the cluster's). With `autostart` it starts
 * when connected; `start()` and `stop()` control it by hand. Removing the element
 * stops the node. Changing a setting while the node runs restarts it with the new
 * one.
 *
 * Give each node of one page its own `identity-slot`: nodes sharing a slot share
 * an identity, and a cluster cannot tell them apart.
 *
 * @summary A π-node: state, id, peers and signaling status of one node.
 *
 * @event {CustomEvent<StateChange>} kpc-state-change - Every lifecycle transition (spec §3), in order. Detail: `{ from, to, at, cause }`.
 * @event {CustomEvent<PeerInfo[]>} kpc-peers-change - The set of open peer links changed. Detail: the open links.
 * @event {CustomEvent<KpcReadyDetail>} kpc-ready - The node entered READY (again after every recovery). Detail: `{ nodeId, peers }`.
 * @event {CustomEvent<KpcSignalingDetail>} kpc-signaling-change - A signaling server connected or dropped. Detail: `{ url, connected }`.
 * @event {CustomEvent<RecoveryEvent>} kpc-recovery - Each step of the recovery ladder (spec §7): a strategy starting, then how it ended. Detail: `{ strategy, phase, healthy?, at, detail? }`.
 * @event {CustomEvent<Decision>} kpc-decision - A cluster decision committed (spec §5.2). Detail: the decision (`slot`, `kind`, `payload`, `status`).
 * @event {CustomEvent<ModelProgressDetail>} kpc-model-progress - This node's share of a hosted GGUF model is downloading (or came from its cache). Detail: `{ nodeId, modelId, loadedBytes, totalBytes, cachedBytes, blocks, tensor?, cluster: { loadedBytes, totalBytes, nodes } }`.
 * @event {CustomEvent<KpcErrorDetail>} kpc-error - Start failed (bad settings, identity store failure) or the node dropped an invalid input. Detail: `{ error, source?, from? }`.
 *
 * @csspart base - The card around everything.
 * @csspart state - The state badge (`data-state` holds the state).
 * @csspart id - The short node id (first 8 hex digits; the full id is its title).
 * @csspart peers - The peer count (`data-count` holds the number).
 * @csspart signaling - Signaling servers connected / configured (`data-status`: `all`, `some`, `none`, `idle`).
 * @csspart error - The last error, shown until the next successful start.
 * @csspart sync - Replicated cluster state held: keys and signed deltas (`data-keys`).
 * @csspart decision - The last consensus decision (`data-kind`, `data-status`), once there is one.
 * @csspart model - The blocks of a hosted model this node holds and the bytes it downloaded (`data-loaded`, `data-total`, `data-blocks` e.g. `0-2`); absent until the cluster runs one.
 * @csspart recovery - The running recovery strategy, then its outcome (`data-strategy`, `data-phase`, `data-healthy` once it restored health); absent until the node's first recovery.
 *
 * @cssprop [--kpc-state-bootstrap=#0f766e] - Colour of BOOTSTRAP (and likewise `--kpc-state-discovering`, `-connecting`, `-syncing`, `-ready`, `-degraded`, `-recovering`, `-offline`, `-idle`).
 * @cssprop [--kpc-state-text=#ffffff] - Text colour on the state badge.
 * @cssprop [--kpc-node-background=transparent] - Card background.
 * @cssprop [--kpc-node-border=1px solid #d1d5db] - Card border (the left edge always shows the state colour).
 * @cssprop [--kpc-node-radius=0.5em] - Card corner radius.
 * @cssprop [--kpc-node-padding=0.5em 0.75em] - Card padding.
 * @cssprop [--kpc-node-font-size=0.875rem] - Font size.
 * @cssprop [--kpc-font-mono=ui-monospace, monospace] - Font of the node id.
 * @cssprop [--kpc-color-muted=#4b5563] - Colour of the peer and signaling text.
 * @cssprop [--kpc-color-danger=#b91c1c] - Colour of the error text and of a recovery step that failed or timed out.
 * @cssprop [--kpc-signaling-on=#16a34a] - Signaling dot: every server connected.
 * @cssprop [--kpc-signaling-partial=#d97706] - Signaling dot: some connected.
 * @cssprop [--kpc-signaling-off=#9ca3af] - Signaling dot: none connected, or not started.
 */
@customElement('kpc-node')
export class KpcNode extends LitElement {
  static override styles = styles;

  /** Signaling URLs, comma-separated (`ws://…`, `wss://…`, `local:<name>`). Overrides the cluster's. */
  @property()
  signaling?: string;

  /** Cluster name. Overrides the cluster's. */
  @property({ attribute: 'cluster-id' })
  clusterId?: string;

  /** ICE servers as a JSON array of RTCIceServer. Overrides the cluster's; default none. */
  @property({ attribute: 'ice-servers', converter: iceServersConverter })
  iceServers?: RTCIceServer[];

  /** Start the node as soon as the element is connected (and again whenever it is re-inserted). */
  @property({ type: Boolean, reflect: true })
  autostart = false;

  /** IndexedDB slot of the node's identity; give each node of a page its own. Default `default`. */
  @property({ attribute: 'identity-slot' })
  identitySlot?: string;

  /** Peer links to keep where the cluster has that many other nodes. Default 3 (spec §4.1). */
  @property({ attribute: 'min-peers', type: Number })
  minPeers?: number;

  /** Heartbeat interval in ms. Default 5000 (spec §4.1). */
  @property({ attribute: 'heartbeat-ms', type: Number })
  heartbeatMs?: number;

  /** Interval of the node's health self-check (weight cache integrity) in ms. Default 10000. */
  @property({ attribute: 'health-check-ms', type: Number })
  healthCheckMs?: number;

  /** Proof-of-π admission difficulty in bits; `0` turns admission off. Overrides the cluster's; default 19. */
  @property({ attribute: 'pow-difficulty', type: Number })
  powDifficulty?: number;

  @consume({ context: clusterContext, subscribe: true })
  @state()
  private cluster?: ClusterContext;

  @state() private displayState: DisplayState = 'IDLE';
  @state() private peerList: readonly PeerInfo[] = [];
  @state() private signalingStatus: ReadonlyMap<string, boolean> = new Map();
  @state() private lastError: Error | null = null;
  /** Replicated keys held and deltas applied: the sync progress shown in the `sync` part. */
  @state() private syncInfo: { keys: number; deltas: number } = { keys: 0, deltas: 0 };
  @state() private lastDecision: { kind: string; slot: number; status: string } | null = null;
  /** The last recovery event of the current node: a running strategy or the outcome of one. */
  @state() private lastRecovery: RecoveryEvent | null = null;
  @state() private modelLoad: ModelProgressDetail | null = null;

  private current: PiNode | null = null;
  /** Settings the current node runs with; null once it was torn down. */
  private currentKey: string | null = null;
  /** Settings whose start failed: autostart does not retry them until they change. */
  private failedKey: string | null = null;
  private registeredIn: ClusterRegistry | null = null;
  private unlisten: (() => void) | null = null;
  /** Whether the node should run while the element is connected. */
  private wanted = false;
  /** start/stop/teardown run one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();

  /** The π-node of the current (or last) run; null before the first start. */
  get node(): PiNode | null {
    return this.current;
  }

  /** The state shown: the node's lifecycle state, or `IDLE` before it starts. */
  get state(): DisplayState {
    return this.displayState;
  }

  /** The node's id, once its identity is loaded. */
  get nodeId(): string | undefined {
    return this.current?.nodeId;
  }

  /** Open peer links. */
  get peers(): readonly PeerInfo[] {
    // Live from the running node: peers' states change with heartbeats, not only with links.
    return this.current && this.currentKey !== null ? this.current.peers : this.peerList;
  }

  /**
   * Starts the node with the current settings: a new PiNode, registered in the
   * enclosing cluster's registry. Resolves once the node is discovering (watch
   * `kpc-ready` for READY); rejects — and fires `kpc-error` — when it cannot start.
   * Does nothing if the node already runs with these settings.
   */
  start(): Promise<void> {
    this.wanted = true;
    this.failedKey = null;
    return this.enqueue(() => this.run(false));
  }

  /** Stops the node (it says goodbye to its peers and ends OFFLINE) and unregisters it. */
  stop(): Promise<void> {
    this.wanted = false;
    return this.enqueue(() => this.teardown());
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.autostart) this.wanted = true;
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // Moving the element (removed and re-inserted in one task) keeps the node running.
    queueMicrotask(() => {
      if (!this.isConnected) void this.enqueue(() => this.teardown());
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('autostart') && this.autostart && this.isConnected) this.wanted = true;
  }

  protected override updated(): void {
    this.syncRegistration();
    if (!this.isConnected || !this.wanted) return;
    const { key, error } = this.resolve();
    if (key === this.currentKey || key === this.failedKey) return;
    // Inside a kpc-cluster that is not defined yet: its context is on the way.
    if (error && !this.cluster && this.closest('kpc-cluster')) return;
    this.enqueue(() => this.run(true)).catch(() => undefined);
  }

  protected override render() {
    const state = this.displayState;
    const id = this.current?.nodeId;
    const short = id ? id.slice(0, 8) : '';
    const count = this.peerList.length;
    const urls = [...this.signalingStatus];
    const up = urls.filter(([, c]) => c).length;
    const status = urls.length === 0 ? 'idle' : up === urls.length ? 'all' : up === 0 ? 'none' : 'some';
    return html`
      <div part="base" role="group" aria-label=${`π-node ${short || '(not started)'}`} data-state=${state}>
        <span part="state" role="status" data-state=${state}>${state}</span>
        <span part="id" title=${id ?? 'not started'}>${short || '—'}</span>
        <span part="peers" data-count=${count}>${count} ${count === 1 ? 'peer' : 'peers'}</span>
        <span part="signaling" data-status=${status} title=${urls.map(([u, c]) => `${u}: ${c ? 'connected' : 'disconnected'}`).join('\n')}
          >signaling ${urls.length === 0 ? '—' : `${up}/${urls.length}`}</span
        >
        <span part="sync" data-keys=${this.syncInfo.keys} title="replicated keys · signed deltas held">${this.syncInfo.keys} keys · ${this.syncInfo.deltas} deltas</span>
        ${this.lastDecision
          ? html`<span part="decision" data-kind=${this.lastDecision.kind} data-status=${this.lastDecision.status}
              >decided #${this.lastDecision.slot}: ${this.lastDecision.kind}${this.lastDecision.status === 'executed' ? '' : ` (${this.lastDecision.status})`}</span
            >`
          : nothing}
        ${this.renderModel()}
        ${this.renderRecovery()}
        ${this.lastError ? html`<span part="error" role="alert">${this.lastError.message}</span>` : nothing}
      </div>
    `;
  }

  private renderModel() {
    const m = this.modelLoad;
    if (!m) return nothing;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    const blocks = m.blocks.map(([f, t]) => (t - f === 1 ? `${f}` : `${f}-${t - 1}`)).join(',');
    const label = m.blocks.length === 0 ? 'no blocks' : `blocks ${blocks}`;
    const cached = m.cachedBytes > 0 ? ` (${mb(m.cachedBytes)} cached)` : '';
    return html`<span part="model" data-loaded=${m.loadedBytes} data-total=${m.totalBytes} data-blocks=${blocks}
      title=${`model ${m.modelId.slice(0, 16)}…`}>${label} · ${mb(m.loadedBytes)}/${mb(m.totalBytes)} MB${cached}</span
    >`;
  }

  private renderRecovery() {
    const r = this.lastRecovery;
    if (!r) return nothing;
    const title = [`${r.strategy}: ${r.phase}`, r.detail].filter(Boolean).join(' — ');
    return html`<span part="recovery" data-strategy=${r.strategy} data-phase=${r.phase} ?data-healthy=${r.healthy === true} title=${title}
      >${describeRecovery(r)}</span
    >`;
  }

  // ------------------------------------------------------------------ internals

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The node's options from its attributes, then the cluster context. */
  private resolve(): Resolved {
    const ctx = this.cluster;
    const signaling = given(this.signaling) ? parseSignalingList(this.signaling) : [...(ctx?.signaling ?? [])];
    const clusterId = given(this.clusterId) ? this.clusterId.trim() : (ctx?.clusterId ?? '');
    const ownIce = this.iceServers === undefined || this.iceServers === null ? null : validIceServers(this.iceServers);
    const iceServers = ownIce ?? [...(ctx?.iceServers ?? [])];
    const identitySlot = given(this.identitySlot) ? this.identitySlot.trim() : undefined;
    const minPeers = this.minPeers ?? undefined;
    const heartbeatMs = this.heartbeatMs ?? undefined;
    const healthCheckMs = this.healthCheckMs ?? undefined;
    const powDifficulty = this.powDifficulty ?? ctx?.powDifficulty;
    const key = JSON.stringify([clusterId, signaling, iceServers, identitySlot ?? null, minPeers ?? null, heartbeatMs ?? null, healthCheckMs ?? null, powDifficulty ?? null]);
    const problems: string[] = [];
    if (this.iceServers !== undefined && this.iceServers !== null && ownIce === null) problems.push('ice-servers must be a JSON array of RTCIceServer objects');
    if (minPeers !== undefined && !(Number.isInteger(minPeers) && minPeers >= 0)) problems.push('min-peers must be a whole number ≥ 0');
    if (heartbeatMs !== undefined && !(Number.isFinite(heartbeatMs) && heartbeatMs > 0)) problems.push('heartbeat-ms must be a positive number');
    if (healthCheckMs !== undefined && !(Number.isFinite(healthCheckMs) && healthCheckMs > 0)) problems.push('health-check-ms must be a positive number');
    if (powDifficulty !== undefined && !(Number.isInteger(powDifficulty) && powDifficulty >= 0 && powDifficulty <= 32)) problems.push('pow-difficulty must be a whole number from 0 to 32');
    if (!clusterId) problems.push('no cluster id: set cluster-id here or on an enclosing <kpc-cluster>');
    if (signaling.length === 0) problems.push('no signaling URL: set signaling here or on an enclosing <kpc-cluster>');
    if (problems.length > 0) return { key, error: new KpcError('CONFIG_INVALID', problems.join('; '), { problems }) };
    const admission = powDifficulty === undefined ? undefined : powDifficulty === 0 ? (false as const) : { difficulty: powDifficulty };
    return { key, options: { clusterId, signaling, iceServers, identitySlot, minPeers, heartbeatMs, healthCheckMs, admission } };
  }

  private async run(auto: boolean): Promise<void> {
    const resolved = this.resolve();
    if (auto && (!this.wanted || !this.isConnected || resolved.key === this.failedKey || resolved.key === this.currentKey)) return;
    const running = this.current !== null && this.currentKey !== null && this.current.state !== 'OFFLINE';
    if (running && resolved.key === this.currentKey) return this.current!.start();
    await this.teardown();
    if (resolved.error) return this.fail(resolved.key, resolved.error);

    let node: PiNode;
    try {
      node = new PiNode(resolved.options);
    } catch (err) {
      return this.fail(resolved.key, err);
    }
    this.current = node;
    this.currentKey = resolved.key;
    this.unlisten = this.listen(node);
    this.displayState = node.state;
    this.peerList = [];
    this.lastRecovery = null;
    this.signalingStatus = new Map(parseSignalingList(resolved.options.signaling).map((url) => [url, false] as [string, boolean]));
    this.syncRegistration();
    try {
      await node.start();
    } catch (err) {
      if (this.current === node) {
        this.unregister();
        this.unlisten?.();
        this.unlisten = null;
        this.current = null;
        this.currentKey = null;
        this.displayState = 'IDLE';
        this.signalingStatus = new Map();
      }
      return this.fail(resolved.key, err);
    }
    this.lastError = null;
  }

  /** Reports a failed start (`kpc-error`) and rejects the caller's promise. */
  private fail(key: string, err: unknown): never {
    const error = err instanceof Error ? err : new KpcError('NODE_START_FAILED', String(err));
    this.failedKey = key;
    this.lastError = error;
    this.emit<KpcErrorDetail>('kpc-error', { error });
    throw error;
  }

  /** Unregisters and stops the current node; it stays readable through `node`. */
  private async teardown(): Promise<void> {
    const node = this.current;
    this.currentKey = null;
    if (!node) return;
    this.unregister();
    try {
      await node.stop();
    } catch (err) {
      this.emit<KpcErrorDetail>('kpc-error', { error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      if (this.current === node) {
        this.unlisten?.();
        this.unlisten = null;
        this.displayState = node.state;
        this.peerList = [];
        this.signalingStatus = new Map([...this.signalingStatus.keys()].map((url) => [url, false] as [string, boolean]));
      }
    }
  }

  /** Keeps the running node registered in the registry of the cluster the element is in now. */
  private syncRegistration(): void {
    const target = this.current && this.currentKey !== null && this.isConnected ? (this.cluster?.registry ?? null) : null;
    if (target === this.registeredIn) return;
    this.unregister();
    if (target && this.current) {
      target.add(this.current);
      this.registeredIn = target;
    }
  }

  private unregister(): void {
    if (this.current) this.registeredIn?.remove(this.current);
    this.registeredIn = null;
  }

  /** Mirrors the node's events on the element; returns the function that detaches them. */
  private listen(node: PiNode): () => void {
    const handlers: Record<string, (ev: Event) => void> = {
      statechange: (ev) => {
        const change = (ev as CustomEvent<StateChange>).detail;
        this.displayState = change.to;
        this.emit<StateChange>('kpc-state-change', change);
        if (change.to === 'READY') this.emit<KpcReadyDetail>('kpc-ready', { nodeId: node.nodeId ?? '', peers: node.peers });
      },
      peers: (ev) => {
        const peers = (ev as CustomEvent<PeerInfo[]>).detail;
        this.peerList = peers;
        this.emit<PeerInfo[]>('kpc-peers-change', peers);
      },
      signaling: (ev) => {
        const detail = (ev as CustomEvent<KpcSignalingDetail>).detail;
        this.signalingStatus = new Map(this.signalingStatus).set(detail.url, detail.connected);
        this.emit<KpcSignalingDetail>('kpc-signaling-change', { url: detail.url, connected: detail.connected });
      },
      change: () => this.refreshSync(node),
      'peer-open': () => this.refreshSync(node),
      'consensus-commit': (ev) => {
        const d = (ev as CustomEvent<Decision>).detail;
        this.lastDecision = { kind: d.kind, slot: d.slot, status: d.status };
        this.emit<Decision>('kpc-decision', d);
      },
      recovery: (ev) => {
        const e = (ev as CustomEvent<RecoveryEvent>).detail;
        this.lastRecovery = e;
        this.emit<RecoveryEvent>('kpc-recovery', e);
      },
      'model-progress': (ev) => {
        const d = (ev as CustomEvent<ModelProgressDetail>).detail;
        this.modelLoad = d;
        this.emit<ModelProgressDetail>('kpc-model-progress', d);
      },
      reject: (ev) => {
        const { error, source, from } = (ev as CustomEvent<KpcErrorDetail>).detail;
        this.emit<KpcErrorDetail>('kpc-error', { error, source, from });
      },
    };
    for (const [type, fn] of Object.entries(handlers)) node.addEventListener(type, fn);
    return () => {
      for (const [type, fn] of Object.entries(handlers)) node.removeEventListener(type, fn);
    };
  }

  /**
   * Coalesced to one read per 50 ms: a catch-up can apply thousands of changes. A timer,
   * not requestAnimationFrame, which never fires in a hidden tab.
   */
  private syncQueued = false;
  private refreshSync(node: PiNode): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    setTimeout(() => {
      this.syncQueued = false;
      if (node !== this.current) return;
      try {
        const vv = node.versionVector();
        this.syncInfo = { keys: node.entries().length, deltas: Object.values(vv).reduce((a, b) => a + b, 0) };
      } catch {
        // Stopped in between: keep the last figures.
      }
    }, 50);
  }

  private emit<T>(type: string, detail: T): void {
    this.dispatchEvent(kpcEvent(type, detail));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'kpc-node': KpcNode;
  }
  interface HTMLElementEventMap {
    'kpc-state-change': CustomEvent<StateChange>;
    'kpc-peers-change': CustomEvent<PeerInfo[]>;
    'kpc-ready': CustomEvent<KpcReadyDetail>;
    'kpc-signaling-change': CustomEvent<KpcSignalingDetail>;
    'kpc-error': CustomEvent<KpcErrorDetail>;
    'kpc-decision': CustomEvent<Decision>;
    'kpc-recovery': CustomEvent<RecoveryEvent>;
  }
}
