import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import '../components/index.js';

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
}

const meta: Meta<MeshViewArgs> = {
  title: 'Elements/kpc-mesh-view',
  component: 'kpc-mesh-view',
  parameters: {
    docs: {
      description: {
        component:
          'The merged topology of the cluster\'s registry as SVG: nodes on a circle in id order, filled by state, this page\'s nodes outlined, links as lines. ' +
          'Live: it redraws on every registry change.',
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
