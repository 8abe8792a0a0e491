import { consume } from '@lit/context';
import { LitElement, html, nothing, svg, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { ClusterRegistry } from '../../src/cluster.js';
import type { TopologySnapshot } from '../../src/mesh/types.js';
import { clusterContext, type ClusterContext } from '../context.js';
import { toDisplayState } from '../shared/state-colors.js';
import { styles } from './kpc-mesh-view.styles.js';

const EMPTY: TopologySnapshot = Object.freeze({ nodes: [], links: [] });

/** A point of the layout. */
interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * "4 nodes, 6 links", with the unhealthy ones when there are any:
 * "4 nodes, 6 links (1 suspect, 3 dead)". The summary the SVG is labelled with.
 */
export function summarizeTopology(t: TopologySnapshot): string {
  const n = t.nodes.length;
  const m = t.links.length;
  const suspect = t.links.filter((l) => l.health === 'suspect').length;
  const dead = t.links.filter((l) => l.health === 'dead').length;
  const unhealthy = [suspect > 0 ? `${suspect} suspect` : '', dead > 0 ? `${dead} dead` : ''].filter(Boolean).join(', ');
  return `${n} ${n === 1 ? 'node' : 'nodes'}, ${m} ${m === 1 ? 'link' : 'links'}${unhealthy ? ` (${unhealthy})` : ''}`;
}

/**
 * Positions `count` nodes evenly on a circle of `radius` around (`cx`, `cy`),
 * the first at the top, clockwise. One node sits in the centre.
 */
export function circleLayout(count: number, cx: number, cy: number, radius: number): Point[] {
  if (count === 1) return [{ x: cx, y: cy }];
  return Array.from({ length: count }, (_, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / count;
    return { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
  });
}

/**
 * A live drawing of the cluster graph as this page's nodes see it together:
 * the merged topology of the registry of the enclosing `<kpc-cluster>` (or of
 * the `registry` property). Nodes sit on a circle in node-id order, filled with
 * their state's colour; this page's own nodes are outlined; lines are the open
 * data-channel links. A suspect link (silent for over 1.5 heartbeats) is dashed; a
 * dead one (lost without a goodbye, kept for 10 s) is dotted in the danger colour.
 * It redraws on every registry change.
 *
 * @summary SVG drawing of the cluster mesh, live.
 *
 * @csspart svg - The `<svg>` (role `img`, labelled "N nodes, M links", plus "(S suspect, D dead)" when there are any).
 * @csspart node - One `<g>` per node (`data-node-id`, `data-state`, `data-local` on this page's nodes) holding a circle and a label.
 * @csspart segment - The ring around a node holding blocks of the cluster's hosted model, coloured by segment (the node's `data-segment` holds its blocks, e.g. `0-2`).
 * @csspart link - One `<line>` per link (`data-a`, `data-b`: the node ids; `data-health`: `ok`, `suspect` or `dead`).
 *
 * @cssprop [--kpc-state-ready=#15803d] - Fill of READY nodes (and likewise `--kpc-state-bootstrap`, `-discovering`, `-connecting`, `-syncing`, `-degraded`, `-recovering`, `-offline`, `-unknown`).
 * @cssprop [--kpc-mesh-segment-0=#2563eb] - Ring colour of the first segment's holders (and `--kpc-mesh-segment-1` … `-5`: #d97706, #7c3aed, #0d9488, #db2777, #65a30d; segments beyond 6 reuse them).
 * @cssprop [--kpc-mesh-background=transparent] - Background of the drawing.
 * @cssprop [--kpc-mesh-border=1px solid #e5e7eb] - Border of the drawing.
 * @cssprop [--kpc-mesh-radius=0.5rem] - Corner radius of the drawing.
 * @cssprop [--kpc-mesh-link-color=#94a3b8] - Link colour.
 * @cssprop [--kpc-mesh-link-width=1.5px] - Link width.
 * @cssprop [--kpc-mesh-link-suspect-color=#d97706] - Colour of suspect links (dashed).
 * @cssprop [--kpc-mesh-link-dead-color=#b91c1c] - Colour of dead links (dotted); defaults to `--kpc-color-danger`.
 * @cssprop [--kpc-mesh-node-stroke=#ffffff] - Outline of other pages' nodes.
 * @cssprop [--kpc-mesh-local-outline=#111827] - Outline of this page's nodes.
 * @cssprop [--kpc-mesh-local-outline-width=3px] - Width of that outline.
 * @cssprop [--kpc-mesh-label-color=currentColor] - Label colour.
 * @cssprop [--kpc-mesh-label-size=11px] - Label font size.
 * @cssprop [--kpc-mesh-label-halo=#ffffff] - Halo around labels (set it to the background colour).
 */
@customElement('kpc-mesh-view')
export class KpcMeshView extends LitElement {
  static override styles = styles;

  /** Width of the drawing in CSS pixels (it shrinks to fit its container). */
  @property({ type: Number })
  width = 320;

  /** Height of the drawing in CSS pixels. */
  @property({ type: Number })
  height = 320;

  /**
   * The registry to draw. Default: the one of the enclosing `<kpc-cluster>`. Set
   * it to draw a headless `ClusterRegistry`, or another cluster's.
   */
  @property({ attribute: false })
  registry?: ClusterRegistry;

  @consume({ context: clusterContext, subscribe: true })
  @state()
  private cluster?: ClusterContext;

  @state() private snapshot: TopologySnapshot = EMPTY;
  @state() private localIds: ReadonlySet<string> = new Set();
  /** Segment index and blocks of each node holding part of the cluster's hosted model. */
  @state() private segments: ReadonlyMap<string, { index: number; label: string }> = new Map();

  private watched: ClusterRegistry | null = null;
  private readonly onChange = (): void => this.refresh();

  /** The topology drawn now (nodes in id order). */
  get topology(): TopologySnapshot {
    return this.snapshot;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.watch();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unwatch();
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('registry') || changed.has('cluster')) this.watch();
  }

  protected override render() {
    const w = Math.max(40, this.width || 0);
    const h = Math.max(40, this.height || 0);
    const nodes = [...this.snapshot.nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    const n = nodes.length;
    const summary = summarizeTopology(this.snapshot);
    const nodeR = Math.max(5, Math.min(16, (Math.min(w, h) / 2) * Math.sin(Math.PI / Math.max(n, 3)) * 0.45));
    // Leave room for the labels (below each node, ~8 monospace characters wide).
    const ring = Math.max(0, Math.min(w / 2 - Math.max(nodeR, 30) - 2, h / 2 - nodeR - 18));
    const points = circleLayout(n, w / 2, h / 2 - 6, ring);
    const at = new Map(nodes.map((node, i) => [node.nodeId, points[i]]));
    const links = this.snapshot.links.filter((l) => at.has(l.a) && at.has(l.b));

    return html`
      <svg part="svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width=${w} height=${h}
        role="img" aria-label=${summary}>
        <title>${summary}</title>
        <g class="links">
          ${repeat(
            links,
            (l) => `${l.a}|${l.b}`,
            (l) => {
              const a = at.get(l.a)!;
              const b = at.get(l.b)!;
              return svg`<line part="link" data-a=${l.a} data-b=${l.b} data-health=${l.health ?? 'ok'} x1=${a.x} y1=${a.y} x2=${b.x} y2=${b.y}></line>`;
            },
          )}
        </g>
        <g class="nodes">
          ${repeat(
            nodes,
            (node) => node.nodeId,
            (node) => {
              const p = at.get(node.nodeId)!;
              const local = this.localIds.has(node.nodeId);
              const state = toDisplayState(node.state);
              const seg = this.segments.get(node.nodeId);
              return svg`
                <g part="node" data-node-id=${node.nodeId} data-state=${state} ?data-local=${local}
                  data-segment=${seg?.label ?? nothing} transform="translate(${p.x} ${p.y})">
                  <title>${node.nodeId} — ${state}${local ? ' (this page)' : ''}${seg ? ` — blocks ${seg.label}` : ''}</title>
                  ${seg ? svg`<circle part="segment" class=${`segment s${seg.index % 6}`} r=${nodeR + 3.5}></circle>` : nothing}
                  <circle r=${nodeR}></circle>
                  <text y=${nodeR + 4}>${node.nodeId.slice(0, 8)}</text>
                </g>`;
            },
          )}
        </g>
        ${n === 0 ? svg`<text class="empty" x=${w / 2} y=${h / 2}>no nodes yet</text>` : nothing}
      </svg>
    `;
  }

  // ------------------------------------------------------------------ internals

  /** Follows the registry to draw (own property first, then the context's). */
  private watch(): void {
    const target = this.isConnected ? (this.registry ?? this.cluster?.registry ?? null) : null;
    if (target === this.watched) return;
    this.unwatch();
    this.watched = target;
    target?.addEventListener('change', this.onChange);
    this.refresh();
  }

  private unwatch(): void {
    this.watched?.removeEventListener('change', this.onChange);
    this.watched = null;
  }

  private refresh(): void {
    const registry = this.watched;
    this.snapshot = registry ? registry.topology() : EMPTY;
    this.localIds = new Set(registry ? registry.nodes.map((n) => n.nodeId).filter((id): id is string => !!id) : []);
    this.segments = segmentsOf(registry);
  }
}

/** Each holder's segment of the cluster's hosted model, as a running node of the registry knows it: ranges in block order get indices 0, 1, … */
function segmentsOf(registry: ClusterRegistry | null): Map<string, { index: number; label: string }> {
  const node = registry?.nodes.find((n) => n.state === 'READY' || n.state === 'DEGRADED');
  const out = new Map<string, { index: number; label: string }>();
  if (!node) return out;
  let holdings: Map<string, Array<[number, number]>>;
  try {
    holdings = node.modelHoldings();
  } catch {
    return out;
  }
  const label = (blocks: Array<[number, number]>) => blocks.map(([f, t]) => (t - f === 1 ? `${f}` : `${f}-${t - 1}`)).join(',');
  const firsts = [...new Set([...holdings.values()].filter((b) => b.length > 0).map((b) => b[0][0]))].sort((a, b) => a - b);
  for (const [id, blocks] of holdings) {
    if (blocks.length > 0) out.set(id, { index: firsts.indexOf(blocks[0][0]), label: label(blocks) });
  }
  return out;
}

declare global {
  interface HTMLElementTagNameMap {
    'kpc-mesh-view': KpcMeshView;
  }
}
