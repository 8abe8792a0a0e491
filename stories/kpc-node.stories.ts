import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import '../components/index.js';
import type { KpcNode } from '../components/index.js';

/** Arguments of the `<kpc-node>` stories (its attributes). */
export interface NodeArgs {
  signaling: string;
  clusterId: string;
  identitySlot: string;
  autostart: boolean;
  minPeers?: number;
  heartbeatMs?: number;
  healthCheckMs?: number;
}

const meta: Meta<NodeArgs> = {
  title: 'Elements/kpc-node',
  component: 'kpc-node',
  parameters: {
    docs: {
      description: {
        component:
          'One π-node: a coloured badge per lifecycle state, the short node id, the peer count and the signaling status; ' +
          'after a fault, the recovery strategy running and how it ended (see the kpc-mesh-view FaultInjection story). ' +
          'Standalone here (its own `signaling` and `cluster-id`); inside a `<kpc-cluster>` it takes the cluster\'s.',
      },
    },
  },
  argTypes: {
    minPeers: { control: { type: 'number', min: 0, max: 8 } },
    heartbeatMs: { control: { type: 'number', min: 250, step: 250 } },
    healthCheckMs: { control: { type: 'number', min: 100, step: 100 } },
  },
  args: { autostart: true },
  render: (args) => html`
    <kpc-node
      signaling=${args.signaling}
      cluster-id=${args.clusterId}
      identity-slot=${args.identitySlot}
      min-peers=${ifDefined(args.minPeers)}
      heartbeat-ms=${ifDefined(args.heartbeatMs)}
      health-check-ms=${ifDefined(args.healthCheckMs)}
      ?autostart=${args.autostart}
    ></kpc-node>
  `,
};
export default meta;

type Story = StoryObj<NodeArgs>;

/** A node alone in its cluster: BOOTSTRAP → DISCOVERING → … → READY with 0 peers. */
export const Alone: Story = {
  args: { signaling: 'local:storybook-node-alone', clusterId: 'storybook-node-alone', identitySlot: 'sb-node-alone' },
};

/** Without `autostart` the node waits (IDLE) until `start()` is called. */
export const ManualStart: Story = {
  args: { signaling: 'local:storybook-node-manual', clusterId: 'storybook-node-manual', identitySlot: 'sb-node-manual', autostart: false },
  render: (args, context) => {
    const node = (ev: Event) => (ev.target as HTMLElement).closest('div')!.querySelector('kpc-node') as KpcNode;
    return html`
      <div>
        ${meta.render!(args, context)}
        <p>
          <button type="button" data-action="start" @click=${(ev: Event) => node(ev).start().catch(() => undefined)}>start()</button>
          <button type="button" data-action="stop" @click=${(ev: Event) => node(ev).stop()}>stop()</button>
        </p>
      </div>
    `;
  },
};

/** Two standalone nodes with the same settings link to each other: each shows 1 peer. */
export const Pair: Story = {
  args: { signaling: 'local:storybook-node-pair', clusterId: 'storybook-node-pair', identitySlot: 'sb-node-pair' },
  render: (args, context) => html`
    ${meta.render!({ ...args, identitySlot: `${args.identitySlot}-1` }, context)}
    ${meta.render!({ ...args, identitySlot: `${args.identitySlot}-2` }, context)}
  `,
};

/** No signaling URL and no cluster: the start fails, `kpc-error` fires and the element shows why. */
export const MissingSettings: Story = {
  args: { signaling: '', clusterId: '', identitySlot: 'sb-node-missing' },
};
