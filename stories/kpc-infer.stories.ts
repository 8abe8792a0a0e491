import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import '../components/index.js';

/** Arguments of the `<kpc-infer>` stories (its attributes). */
export interface InferArgs {
  /** `model` attribute: a procedural preset, the repo model (optionally `:type`), or a GGUF URL. */
  model: string;
  /** `max-tokens` attribute. */
  maxTokens: number;
  /** `temperature` attribute: 0 is argmax. */
  temperature: number;
  /** `seed` attribute: the sampler's uint32 seed. */
  seed: number;
  /** `prompt` attribute: the initial prompt. */
  prompt: string;
  /** `replicas` attribute (in a cluster): nodes holding each block of a GGUF model. */
  replicas?: number;
  /** `chat` attribute: conversation mode when the model has a chat template. */
  chat?: boolean;
}

const meta: Meta<InferArgs> = {
  title: 'Elements/kpc-infer',
  component: 'kpc-infer',
  parameters: {
    docs: {
      description: {
        component:
          'Runs a model and streams its output, with tokens/s and which node computed which blocks of each token. ' +
          'Alone (as here) it runs the whole model in this tab; inside a `<kpc-cluster>` that offers an inference backend it uses that one. ' +
          '`model` is a procedural preset (`kpc-tiny`, `kpc-small`: **untrained** weights, deterministic output that is not language), ' +
          'the repo\'s trained model (`kjv-llama-3m`, a small Llama trained on the King James Bible, read from GGUF), or any llama GGUF URL ' +
          '(the host must allow `Range` requests and CORS). The note under the output says which model runs. ' +
          'Press Generate (or Ctrl/⌘+Enter in the prompt).',
      },
    },
  },
  argTypes: {
    model: { control: 'select', options: ['kpc-tiny', 'kpc-small', 'kjv-llama-3m', 'kjv-llama-3m:q4_k_m', 'kjv-llama-3m:f32'] },
    maxTokens: { control: { type: 'number', min: 0, max: 1024, step: 1 } },
    temperature: { control: { type: 'range', min: 0, max: 2, step: 0.05 } },
    seed: { control: { type: 'number', min: 0, step: 1 } },
    prompt: { control: 'text' },
  },
  args: { model: 'kpc-tiny', maxTokens: 32, temperature: 0, seed: 0, prompt: 'Hello, π-node!' },
  render: (args) => html`
    <kpc-infer
      model=${args.model}
      max-tokens=${args.maxTokens}
      temperature=${args.temperature}
      seed=${args.seed}
      prompt=${args.prompt}
      style="max-width: 40rem"
    ></kpc-infer>
  `,
};
export default meta;

type Story = StoryObj<InferArgs>;

/** kpc-tiny in this tab, argmax: press Generate twice and the same 32 tokens come out. */
export const Default: Story = {};

/** Sampling at temperature 0.8 with seed 1, 200 tokens: the text streams in; another seed gives another sample, the same seed the same one. */
export const StreamingWithTemperature: Story = {
  args: { temperature: 0.8, seed: 1, maxTokens: 200 },
};

/** A prompt longer than kpc-tiny's 256-token context (BOS included): Generate fails with `INFER_CONTEXT_OVERFLOW`, shown in the status line and fired as `kpc-error`. */
export const ContextOverflow: Story = {
  args: { prompt: 'This prompt is longer than the context. '.repeat(8) },
};

/** The repo's trained model (`kjv-llama-3m`, Q8_0, 4 MB fetched by Range requests on first use): greedy, it continues the prompt in King James English. */
export const TrainedModel: Story = {
  args: { model: 'kjv-llama-3m', prompt: 'In the beginning', maxTokens: 48 },
};

/**
 * A GGUF model by URL on a cluster of three nodes in this page (`local:` signaling, real
 * WebRTC): the cluster agrees on the model, splits its blocks by each node's budget, and
 * every node downloads only its share (checked against the manifest beside the file);
 * the mesh view rings each node in its segment's colour and `<kpc-node>` shows its
 * blocks. Change `model` to another llama GGUF URL whose host allows Range and CORS.
 */
export const OnACluster: Story = {
  args: { model: '/models/kjv-llama-3m/model-q8_0.gguf', prompt: 'And God said', maxTokens: 32, replicas: 1 },
  argTypes: { model: { control: 'text' }, replicas: { control: { type: 'number', min: 1, max: 3, step: 1 } } },
  render: (args) => html`
    <kpc-cluster signaling="local:storybook-infer-hosted" cluster-id="storybook-infer-hosted">
      <div style="display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-start">
        <kpc-mesh-view width="260" height="240"></kpc-mesh-view>
        <div style="display: grid; gap: 0.5rem">
          ${[0, 1, 2].map((i) => html`<kpc-node autostart identity-slot=${`sb-infer-hosted-${i}`}></kpc-node>`)}
        </div>
      </div>
      <kpc-infer
        model=${args.model}
        replicas=${ifDefined(args.replicas)}
        ?chat=${args.chat ?? false}
        max-tokens=${args.maxTokens}
        temperature=${args.temperature}
        seed=${args.seed}
        prompt=${args.prompt}
        style="max-width: 40rem; margin-top: 1rem"
      ></kpc-infer>
    </kpc-cluster>
  `,
};
