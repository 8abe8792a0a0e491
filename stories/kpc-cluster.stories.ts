import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import '../components/index.js';

/** Arguments of the `<kpc-cluster>` stories. */
export interface ClusterArgs {
  /** `signaling` attribute. `local:<name>` meshes the frames and tabs of this origin, no server needed. */
  signaling: string;
  /** `cluster-id` attribute. */
  clusterId: string;
  /** `ice-servers` attribute (JSON); empty for none. */
  iceServers: string;
  /** How many `<kpc-node autostart>` to put inside. */
  nodes: number;
  /** Identity slot prefix: node i uses `<prefix>-<i>`, so the nodes of a page differ. */
  slotPrefix: string;
  /** Put a `<kpc-mesh-view>` inside too. */
  meshView: boolean;
  /** `pow-difficulty` attribute: proof-of-π bits every node solves before it announces; 0 turns admission off. */
  powDifficulty?: number;
}

const meta: Meta<ClusterArgs> = {
  title: 'Elements/kpc-cluster',
  component: 'kpc-cluster',
  parameters: {
    docs: {
      description: {
        component:
          'Shares signaling, cluster id, ICE servers and the proof-of-π difficulty with the `<kpc-node>`s inside, and a registry that `<kpc-mesh-view>` draws. ' +
          'These stories use `local:` signaling (a same-origin BroadcastChannel) with real WebRTC, so they run without a server.',
      },
    },
  },
  argTypes: {
    nodes: { control: { type: 'range', min: 0, max: 6, step: 1 } },
    iceServers: { control: 'text' },
    slotPrefix: { control: 'text' },
    meshView: { control: 'boolean' },
    powDifficulty: { control: { type: 'range', min: 0, max: 22, step: 1 } },
  },
  args: { iceServers: '', nodes: 4, meshView: true },
  render: (args) => html`
    <kpc-cluster signaling=${args.signaling} cluster-id=${args.clusterId} ice-servers=${ifDefined(args.iceServers || undefined)} pow-difficulty=${ifDefined(args.powDifficulty)}>
      ${Array.from({ length: args.nodes }, (_, i) => html`<kpc-node autostart identity-slot=${`${args.slotPrefix}-${i + 1}`}></kpc-node>`)}
      ${args.meshView ? html`<kpc-mesh-view width="320" height="320"></kpc-mesh-view>` : null}
    </kpc-cluster>
  `,
};
export default meta;

type Story = StoryObj<ClusterArgs>;

/** Four nodes find each other through `local:` signaling and form a full mesh, live. */
export const FourNodeMesh: Story = {
  args: { signaling: 'local:storybook-cluster-mesh', clusterId: 'storybook-cluster-mesh', slotPrefix: 'sb-cluster-mesh' },
};

/** One node alone: after its discovery window it concludes it is alone and is READY with 0 peers. */
export const SingleNode: Story = {
  args: { signaling: 'local:storybook-cluster-single', clusterId: 'storybook-cluster-single', slotPrefix: 'sb-cluster-single', nodes: 1 },
};

/**
 * Cheap admission: every node solves a 12-bit proof-of-π (a few ms) instead of the
 * default 19 bits before it announces. Set 0 to turn admission off; all nodes of a
 * cluster must agree.
 */
export const LowDifficulty: Story = {
  args: { signaling: 'local:storybook-cluster-pow', clusterId: 'storybook-cluster-pow', slotPrefix: 'sb-cluster-pow', nodes: 3, powDifficulty: 12 },
};

/** The same cluster themed through CSS custom properties. */
export const Themed: Story = {
  args: { signaling: 'local:storybook-cluster-themed', clusterId: 'storybook-cluster-themed', slotPrefix: 'sb-cluster-themed', nodes: 3 },
  render: (args, context) => html`
    <style>
      .kpc-dark {
        --kpc-font-family: Georgia, serif;
        --kpc-color-text: #e5e7eb;
        --kpc-color-muted: #9ca3af;
        --kpc-cluster-background: #111827;
        --kpc-cluster-padding: 1rem;
        --kpc-cluster-radius: 0.75rem;
        --kpc-node-border: 1px solid #374151;
        --kpc-mesh-border: none;
        --kpc-mesh-link-color: #4b5563;
        --kpc-mesh-local-outline: #f9fafb;
        --kpc-mesh-node-stroke: #111827;
        --kpc-mesh-label-halo: #111827;
        --kpc-state-ready: #059669;
      }
    </style>
    <div class="kpc-dark">${meta.render!(args, context)}</div>
  `,
};
