import { provide } from '@lit/context';
import { LitElement, html, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { ClusterRegistry } from '../../src/cluster.js';
import { KpcError } from '../../src/errors.js';
import { parseSignalingList } from '../../src/node.js';
import { clusterContext, type ClusterContext } from '../context.js';
import { RegistryInferenceBackend, type InferenceBackend } from '../kpc-infer/backend.js';
import { EVENT_INIT, iceServersConverter, sameIceServers, validIceServers } from '../shared/config.js';
import { styles } from './kpc-cluster.styles.js';

/**
 * A cluster of π-nodes: shares its configuration and node registry with the
 * elements inside it.
 *
 * It runs nothing by itself: each `<kpc-node>` inside is one π-node, and a
 * `<kpc-mesh-view>` inside draws them. The context it provides is a new object
 * whenever `signaling`, `cluster-id` or `ice-servers` changes, so nodes restart
 * with the new settings.
 *
 * @summary Configuration and registry for the π-nodes inside it.
 *
 * @slot - `<kpc-node>`, `<kpc-mesh-view>` and any other content.
 *
 * @event kpc-error - `ice-servers` is not a JSON array of RTCIceServer. Detail: `{ error: Error }`.
 *
 * @csspart base - The wrapper around the slot (a wrapping flex row).
 *
 * @cssprop [--kpc-font-family=system-ui, sans-serif] - Font of every kpc element inside.
 * @cssprop [--kpc-color-text=inherit] - Text colour.
 * @cssprop [--kpc-cluster-gap=0.75rem] - Space between the slotted elements.
 * @cssprop [--kpc-cluster-padding=0] - Padding of the base part.
 * @cssprop [--kpc-cluster-background=transparent] - Background of the base part.
 * @cssprop [--kpc-cluster-border=none] - Border of the base part.
 * @cssprop [--kpc-cluster-radius=0] - Corner radius of the base part.
 */
@customElement('kpc-cluster')
export class KpcCluster extends LitElement {
  static override styles = styles;

  /** Signaling URLs, comma-separated: `ws://…`, `wss://…` or `local:<name>` (same-origin, no server). */
  @property({ reflect: true })
  signaling = '';

  /** Cluster name; nodes of different clusters never link. */
  @property({ attribute: 'cluster-id', reflect: true })
  clusterId = '';

  /**
   * ICE servers for WebRTC, as a JSON array in the attribute
   * (`ice-servers='[{"urls":"stun:stun.example:3478"}]'`). Default none: enough
   * on loopback and LAN; add STUN/TURN for nodes across the internet.
   */
  @property({ attribute: 'ice-servers', converter: iceServersConverter })
  iceServers: RTCIceServer[] = [];

  /**
   * Proof-of-π admission difficulty in bits (spec §8.1): every node solves a proof this
   * hard before it announces, and links only to nodes whose proof verifies at it. All
   * nodes of a cluster, on every page, must use the same value. `0` turns admission
   * off. Default: the SDK's (19 bits, ~0.1 s median in Chromium).
   */
  @property({ attribute: 'pow-difficulty', type: Number, reflect: true })
  powDifficulty?: number;

  /** The nodes of this cluster on this page. The same object for the element's whole life. */
  readonly registry: ClusterRegistry = new ClusterRegistry();

  /** Inference for `<kpc-infer>` inside: pipelined over the cluster's READY nodes. */
  readonly inference: InferenceBackend = new RegistryInferenceBackend(this.registry);

  @provide({ context: clusterContext })
  private provided: ClusterContext = this.buildContext();

  /** The value provided to descendants: replaced (never mutated) when an attribute changes. */
  get context(): ClusterContext {
    return this.provided;
  }

  override connectedCallback(): void {
    // Before children ask for the context, so they get the attributes' current values.
    this.syncContext();
    super.connectedCallback();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('signaling') || changed.has('clusterId') || changed.has('iceServers') || changed.has('powDifficulty')) {
      if (changed.has('iceServers') && validIceServers(this.iceServers ?? []) === null) {
        this.dispatchEvent(
          new CustomEvent('kpc-error', {
            ...EVENT_INIT,
            detail: { error: new KpcError('CONFIG_INVALID', 'ice-servers must be a JSON array of RTCIceServer objects; using none') },
          }),
        );
      }
      this.syncContext();
    }
  }

  protected override render() {
    return html`<div part="base"><slot></slot></div>`;
  }

  private buildContext(): ClusterContext {
    return {
      clusterId: (this.clusterId ?? '').trim(),
      signaling: parseSignalingList(this.signaling ?? ''),
      iceServers: validIceServers(this.iceServers ?? []) ?? [],
      ...(this.powDifficulty === undefined || this.powDifficulty === null ? {} : { powDifficulty: this.powDifficulty }),
      registry: this.registry,
      inference: this.inference,
    };
  }

  /** Provides a new context object if any field differs from the current one. */
  private syncContext(): void {
    const next = this.buildContext();
    const cur = this.provided;
    const same =
      cur !== undefined &&
      cur.clusterId === next.clusterId &&
      cur.signaling.join(',') === next.signaling.join(',') &&
      cur.powDifficulty === next.powDifficulty &&
      sameIceServers(cur.iceServers, next.iceServers);
    if (!same) this.provided = next;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'kpc-cluster': KpcCluster;
  }
}
