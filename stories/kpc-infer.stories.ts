import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html } from 'lit';
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
