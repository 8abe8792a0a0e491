import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import '../components/index.js';
import type { KpcNode } from '../components/index.js';

/** Arguments of the `<kpc-mesh-view>` stories. */
export interface MeshViewArgs {
  width: number;
  height: number;
  /** How many nodes run in the cluster around the view. */
  nodes: number;
  /** Signaling of the cluster (`local:` needs no server). */
  signaling: string;
  clusterId: string;
  slotPrefix: string;
  /** Heartbeat interval of the nodes, ms (FaultInjection: short, so faults show fast). */
  heartbeatMs?: number;
}

const meta: Meta<MeshViewArgs> = {
  title: 'Elements/kpc-mesh-view',
  component: 'kpc-mesh-view',
  parameters: {
    docs: {
      description: {
        component:
          'The merged topology of the cluster\'s registry as SVG: nodes on a circle in id order, filled by state, this page\'s nodes outlined, links as lines. ' +
          'Live: it redraws on every registry change. Suspect links (silent for over 1.5 heartbeats) are dashed, dead ones (lost without a goodbye, kept 10 s) dotted in the danger colour.',
      },
    },
  },
  argTypes: {
    width: { control: { type: 'range', min: 120, max: 800, step: 10 } },
    height: { control: { type: 'range', min: 120, max: 800, step: 10 } },
    nodes: { control: { type: 'range', min: 0, max: 8, step: 1 } },
  },
  args: { width: 360, height: 360, nodes: 4 },
  render: (args) => html`
    <kpc-cluster signaling=${args.signaling} cluster-id=${args.clusterId}>
      <kpc-mesh-view width=${args.width} height=${args.height}></kpc-mesh-view>
      <div style="display:flex;flex-direction:column;gap:0.5rem">
        ${Array.from({ length: args.nodes }, (_, i) => html`<kpc-node autostart identity-slot=${`${args.slotPrefix}-${i + 1}`}></kpc-node>`)}
      </div>
    </kpc-cluster>
  `,
};
export default meta;

type Story = StoryObj<MeshViewArgs>;

/** Four nodes forming a full mesh (6 links) while you watch. */
export const FourNodes: Story = {
  args: { signaling: 'local:storybook-mesh-four', clusterId: 'storybook-mesh-four', slotPrefix: 'sb-mesh-four' },
};

/** One node alone: a single outlined circle, no links. */
export const SingleNode: Story = {
  args: { signaling: 'local:storybook-mesh-single', clusterId: 'storybook-mesh-single', slotPrefix: 'sb-mesh-single', nodes: 1 },
};

/** No node in the cluster yet: the view says so. */
export const Empty: Story = {
  args: { signaling: 'local:storybook-mesh-empty', clusterId: 'storybook-mesh-empty', slotPrefix: 'sb-mesh-empty', nodes: 0, width: 240, height: 160 },
};

/** The `<kpc-node>` elements of the story a button belongs to that run without an injected fault. */
function healthyNodes(ev: Event): KpcNode[] {
  const cluster = (ev.target as HTMLElement).closest('kpc-cluster')!;
  return [...cluster.querySelectorAll('kpc-node')].filter((el) => el.node !== null && !el.dataset.fault && el.state === 'READY');
}

/** Injects `fault` into the last healthy node (marked `data-fault` so it is not picked twice). */
function inject(ev: Event, fault: 'crashed' | 'silenced'): void {
  const el = healthyNodes(ev).at(-1);
  if (!el?.node) return;
  el.dataset.fault = fault;
  if (fault === 'crashed') el.node.faults.crash();
  else el.node.faults.silence(true);
}

/** Ends every injected fault: a silenced node speaks again, a crashed one starts afresh. */
function restore(ev: Event): void {
  const cluster = (ev.target as HTMLElement).closest('kpc-cluster')!;
  for (const el of cluster.querySelectorAll<KpcNode>('kpc-node[data-fault]')) {
    const fault = el.dataset.fault;
    delete el.dataset.fault;
    if (fault === 'silenced') el.node?.faults.silence(false);
    else void el.stop().then(() => el.start()).catch(() => undefined);
  }
}

/**
 * Fault injection (spec §7): four nodes with 500 ms heartbeats. **crash** kills the
 * last node as a closed tab would: its links turn dead (dotted) while the others climb
 * the recovery ladder (their `recovery` part) back to READY. **silence** hangs a node:
 * its links turn suspect (dashed) after 1.5 heartbeats, then dead after 3. **cut a
 * link** closes one data channel. **restore** restarts crashed nodes and un-silences.
 */
export const FaultInjection: Story = {
  args: { signaling: 'local:storybook-mesh-faults', clusterId: 'storybook-mesh-faults', slotPrefix: 'sb-mesh-faults', heartbeatMs: 500 },
  render: (args) => html`
    <kpc-cluster signaling=${args.signaling} cluster-id=${args.clusterId}>
      <kpc-mesh-view width=${args.width} height=${args.height}></kpc-mesh-view>
      <div style="display:flex;flex-direction:column;gap:0.5rem">
        ${Array.from(
          { length: args.nodes },
          (_, i) => html`<kpc-node autostart heartbeat-ms=${args.heartbeatMs ?? 500} identity-slot=${`${args.slotPrefix}-${i + 1}`}></kpc-node>`,
        )}
        <p style="display:flex;gap:0.5rem;flex-wrap:wrap;margin:0">
          <button type="button" data-action="crash" @click=${(ev: Event) => inject(ev, 'crashed')}>crash a node</button>
          <button type="button" data-action="silence" @click=${(ev: Event) => inject(ev, 'silenced')}>silence a node</button>
          <button
            type="button"
            data-action="cut"
            @click=${(ev: Event) => {
              const [el] = healthyNodes(ev);
              const peer = el?.peers[0];
              if (peer) el.node!.faults.cutLink(peer.nodeId);
            }}
          >
            cut a link
          </button>
          <button type="button" data-action="restore" @click=${restore}>restore</button>
        </p>
      </div>
    </kpc-cluster>
  `,
};
