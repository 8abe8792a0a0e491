import { ContextProvider } from '@lit/context';
import { expect } from 'chai';
import { html } from 'lit';
import {
  KpcInfer,
  THIS_TAB,
  UNTRAINED_NOTE,
  clusterContext,
  type InferenceBackend,
  type InferenceOptions,
  type InferenceToken,
  type KpcCompleteDetail,
  type KpcErrorDetail,
  type KpcGenerateStartDetail,
} from '../../components/index.js';
import { ClusterRegistry } from '../../src/cluster.js';
import { LocalModel, MODEL_PRESETS } from '../../src/infer/index.js';
import { loadGgufModel } from '../../src/model/index.js';
import { executeServerCommand } from '@web/test-runner-commands';
import { cleanup, fixture, nextEvent, part, parts, waitFor } from './util.js';

const PROMPT = 'Hello, π-node!';

/** Every `kpc-*` event the element fires, in order. */
function record(el: EventTarget) {
  const log = { start: [] as KpcGenerateStartDetail[], tokens: [] as InferenceToken[], complete: [] as KpcCompleteDetail[], errors: [] as KpcErrorDetail[] };
  el.addEventListener('kpc-generate-start', (ev) => log.start.push((ev as CustomEvent<KpcGenerateStartDetail>).detail));
  el.addEventListener('kpc-token', (ev) => log.tokens.push((ev as CustomEvent<InferenceToken>).detail));
  el.addEventListener('kpc-complete', (ev) => log.complete.push((ev as CustomEvent<KpcCompleteDetail>).detail));
  el.addEventListener('kpc-error', (ev) => log.errors.push((ev as CustomEvent<KpcErrorDetail>).detail));
  return log;
}

/** What `LocalModel.generate` gives for the same model, prompt and options. */
async function reference(prompt: string, opts: { maxTokens: number; temperature: number; seed: number }) {
  const model = await LocalModel.load('kpc-tiny');
  const items = [];
  for await (const item of model.generate(prompt, opts)) items.push(item);
  return items;
}

const button = (el: KpcInfer, name: 'generate' | 'stop') => part(el, `[part=${name}]`) as HTMLButtonElement;
const shown = (el: KpcInfer, name: string) => part(el, `[part=${name}]`).textContent ?? '';

/** A backend that yields the given tokens and records how it was called. */
function fakeBackend(items: InferenceToken[]): InferenceBackend & { calls: [string, InferenceOptions][] } {
  const calls: [string, InferenceOptions][] = [];
  return {
    calls,
    async *generate(prompt, opts) {
      calls.push([prompt, opts]);
      for (const item of items) {
        await Promise.resolve();
        yield item;
      }
    },
  };
}

const ID_A = 'aaaaaaaa11111111aaaaaaaa11111111';
const ID_B = 'bbbbbbbb22222222bbbbbbbb22222222';
const ID_C = 'cccccccc33333333cccccccc33333333';
const ROUTED: InferenceToken[] = [
  { token: 72, text: 'H', index: 0, ms: 3, route: [{ segment: [0, 4], nodes: [ID_A] }, { segment: [4, 8], nodes: [ID_B, ID_C] }] },
  { token: 105, text: 'i', index: 1, ms: 2, route: [{ segment: [0, 4], nodes: [ID_A] }, { segment: [4, 8], nodes: [ID_C] }] },
];

describe('<kpc-infer>', function () {
  this.timeout(60_000);
  afterEach(cleanup);

  it('renders its parts, the defaults, the prompt attribute and the untrained-weights note', async () => {
    const el = fixture(html`<kpc-infer prompt=${PROMPT}></kpc-infer>`).firstElementChild as KpcInfer;
    expect(el).to.be.instanceOf(KpcInfer);
    await el.updateComplete;
    expect(parts(el, '[part=base], [part=prompt], [part=generate], [part=stop], [part=output], [part=status], [part=route], [part=note]')).to.have.length(8);
    expect([el.model, el.maxTokens, el.temperature, el.seed, el.backend]).to.deep.equal(['kpc-tiny', 32, 0, 0, null]);
    expect((part(el, '[part=prompt]') as HTMLTextAreaElement).value).to.equal(PROMPT);
    expect(el.status).to.equal('idle');
    expect(el.activeBackend.source).to.equal('local');
    expect(button(el, 'generate').disabled).to.equal(false);
    expect(button(el, 'stop').disabled).to.equal(true);
    expect(part(el, '[part=route]').hasAttribute('hidden')).to.equal(true);
    const note = part(el, '[part=note]') as HTMLElement;
    expect(note.textContent?.trim()).to.equal(`kpc-tiny: ${UNTRAINED_NOTE}`);
    expect(note.dataset.trained).to.equal('false');
    expect(UNTRAINED_NOTE).to.equal('Procedural weights are untrained: the output is deterministic but not meaningful language.');
    expect(note.checkVisibility()).to.equal(true);
    expect(note.getBoundingClientRect().height).to.be.greaterThan(0);
  });

  it('Generate streams kpc-tiny tokens into the output: kpc-token per token, kpc-complete once, the tokens of LocalModel.generate', async () => {
    const el = fixture(html`<kpc-infer prompt=${PROMPT}></kpc-infer>`).firstElementChild as KpcInfer;
    await el.updateComplete;
    const log = record(el);
    const output = part(el, '[part=output]');
    const streamed: string[] = []; // the output part after each token's render
    el.addEventListener('kpc-token', () => void el.updateComplete.then(() => streamed.push(output.textContent ?? '')));
    const complete = nextEvent<KpcCompleteDetail>(el, 'kpc-complete');
    button(el, 'generate').click();
    const { detail } = await complete;
    await el.updateComplete;

    const want = await reference(PROMPT, { maxTokens: 32, temperature: 0, seed: 0 });
    expect(want.length).to.be.greaterThan(1);
    expect(log.start).to.deep.equal([{ prompt: PROMPT, model: 'kpc-tiny', maxTokens: 32, temperature: 0, seed: 0, backend: 'local' }]);
    expect(log.tokens.map((t) => t.token)).to.deep.equal(want.map((t) => t.token));
    expect(log.tokens.map((t) => t.text)).to.deep.equal(want.map((t) => t.text));
    expect(log.tokens.map((t) => t.index)).to.deep.equal(want.map((_, i) => i));
    expect(log.complete).to.have.length(1);
    expect(log.errors).to.deep.equal([]);
    const text = want.map((t) => t.text).join('');
    expect(detail.text).to.equal(text);
    expect(detail.tokens).to.equal(want.length);
    expect(detail.tokenIds).to.deep.equal(want.map((t) => t.token));
    expect(detail.ms).to.be.at.least(0);
    expect(detail.tokensPerSecond).to.be.at.least(0);

    // Streamed: each render showed the text up to that token.
    expect(streamed).to.have.length(want.length);
    streamed.forEach((s, i) => expect(s).to.equal(want.slice(0, i + 1).map((t) => t.text).join('')));
    expect(output.textContent).to.equal(text);
    expect(el.text).to.equal(text);

    const status = part(el, '[part=status]');
    expect(status.getAttribute('data-status')).to.equal('done');
    expect(status.getAttribute('data-tokens')).to.equal(String(want.length));
    expect(status.textContent).to.contain(`${want.length} tokens`).and.to.contain('tokens/s');
    const route = part(el, '[part=route]');
    expect(route.hasAttribute('hidden')).to.equal(false);
    expect(route.getAttribute('data-index')).to.equal(String(want.length - 1));
    expect(route.textContent).to.contain(`this tab, layers 0–${MODEL_PRESETS['kpc-tiny'].layers - 1}`);
    expect(log.tokens.every((t) => JSON.stringify(t.route) === JSON.stringify([{ segment: [0, 2], nodes: ['this tab'] }]))).to.equal(true);
    expect(button(el, 'generate').disabled).to.equal(false);
    expect(button(el, 'stop').disabled).to.equal(true);

    // Deterministic: the same settings again give the same tokens and text.
    const again = await el.generate();
    expect(again?.tokenIds).to.deep.equal(detail.tokenIds);
    expect(output.textContent).to.equal(text);
    expect(log.complete).to.have.length(2);
  });

  it('temperature, seed and max-tokens reach the model: the sampled tokens equal LocalModel.generate', async () => {
    const el = fixture(html`<kpc-infer prompt=${PROMPT} temperature="0.8" seed="1" max-tokens="12"></kpc-infer>`).firstElementChild as KpcInfer;
    const log = record(el);
    const detail = await el.generate();
    const want = await reference(PROMPT, { maxTokens: 12, temperature: 0.8, seed: 1 });
    expect(log.start[0]).to.include({ temperature: 0.8, seed: 1, maxTokens: 12 });
    expect(detail?.tokenIds).to.deep.equal(want.map((t) => t.token));
    expect(log.tokens.map((t) => t.token)).to.deep.equal(want.map((t) => t.token));
    await el.updateComplete;
    expect(shown(el, 'output')).to.equal(want.map((t) => t.text).join(''));

    // Other seed, other sample; same seed, same sample.
    el.seed = 2;
    const other = await el.generate();
    const wantOther = await reference(PROMPT, { maxTokens: 12, temperature: 0.8, seed: 2 });
    expect(other?.tokenIds).to.deep.equal(wantOther.map((t) => t.token));
    expect(log.errors).to.deep.equal([]);
  });

  it('Stop aborts mid-stream: no kpc-complete, no kpc-error, status stopped; Generate works again', async () => {
    const el = fixture(html`<kpc-infer prompt=${PROMPT} max-tokens="200"></kpc-infer>`).firstElementChild as KpcInfer;
    await el.updateComplete;
    const log = record(el);
    const stopAtThird = (ev: CustomEvent<InferenceToken>) => {
      if (ev.detail.index < 2) return;
      el.removeEventListener('kpc-token', stopAtThird);
      button(el, 'stop').click();
    };
    el.addEventListener('kpc-token', stopAtThird);
    const run = el.generate();
    expect(el.running).to.equal(true);
    expect(await run).to.equal(null);
    await el.updateComplete;
    expect(log.tokens).to.have.length(3);
    expect(log.complete).to.deep.equal([]);
    expect(log.errors).to.deep.equal([]);
    expect(el.status).to.equal('stopped');
    expect(el.running).to.equal(false);
    expect(part(el, '[part=status]').getAttribute('data-status')).to.equal('stopped');
    expect(shown(el, 'output')).to.equal(log.tokens.map((t) => t.text).join(''));
    expect(button(el, 'generate').disabled).to.equal(false);
    expect(button(el, 'stop').disabled).to.equal(true);

    el.maxTokens = 4;
    const detail = await el.generate();
    expect(detail?.tokens).to.equal(4);
    expect(log.errors).to.deep.equal([]);
  });

  it('stop() ends a run even when the backend ignores the signal', async () => {
    const el = fixture(html`<kpc-infer></kpc-infer>`).firstElementChild as KpcInfer;
    let signal: AbortSignal | undefined;
    el.backend = {
      async *generate(_prompt, opts) {
        signal = opts.signal;
        yield { token: 65, text: 'A', index: 0, ms: 1 };
        await new Promise(() => undefined); // never yields again
      },
    };
    const log = record(el);
    const first = nextEvent(el, 'kpc-token');
    const run = el.generate();
    await first;
    await el.stop();
    expect(await run).to.equal(null);
    expect(signal?.aborted).to.equal(true);
    expect(el.status).to.equal('stopped');
    expect(log.errors).to.deep.equal([]);
    expect(log.complete).to.deep.equal([]);
  });

  it('generate() while running is ignored: it returns the run in progress', async () => {
    const el = fixture(html`<kpc-infer prompt=${PROMPT} max-tokens="8"></kpc-infer>`).firstElementChild as KpcInfer;
    const log = record(el);
    let fromListener: Promise<unknown> | undefined;
    el.addEventListener('kpc-generate-start', () => (fromListener ??= el.generate()));
    const a = el.generate();
    const b = el.generate();
    expect(b).to.equal(a);
    expect(fromListener).to.equal(a);
    await a;
    expect(log.start).to.have.length(1);
    expect(log.complete).to.have.length(1);
  });

  it('a prompt longer than the context gives kpc-error INFER_CONTEXT_OVERFLOW and shows it', async () => {
    const long = 'x'.repeat(MODEL_PRESETS['kpc-tiny'].contextLength); // + BOS: one past the context
    const el = fixture(html`<kpc-infer prompt=${long}></kpc-infer>`).firstElementChild as KpcInfer;
    await el.updateComplete;
    const log = record(el);
    const error = nextEvent<KpcErrorDetail>(el, 'kpc-error');
    button(el, 'generate').click();
    const { detail } = await error;
    expect(detail.error.name).to.equal('KpcError');
    expect((detail.error as Error & { code: string }).code).to.equal('INFER_CONTEXT_OVERFLOW');
    await el.updateComplete;
    expect(el.status).to.equal('error');
    const status = part(el, '[part=status]');
    expect(status.getAttribute('data-status')).to.equal('error');
    expect(status.textContent).to.contain('INFER_CONTEXT_OVERFLOW');
    expect(log.tokens).to.deep.equal([]);
    expect(log.complete).to.deep.equal([]);
    expect(log.errors).to.have.length(1);
    expect(button(el, 'generate').disabled).to.equal(false);

    let rejected: unknown = null;
    await el.generate().catch((e: unknown) => (rejected = e));
    expect((rejected as { code?: string } | null)?.code).to.equal('INFER_CONTEXT_OVERFLOW');
  });

  it('an unknown model gives kpc-error INFER_BAD_SPEC', async () => {
    const el = fixture(html`<kpc-infer model="kpc-huge" prompt="hi"></kpc-infer>`).firstElementChild as KpcInfer;
    const error = nextEvent<KpcErrorDetail>(el, 'kpc-error');
    el.generate().catch(() => undefined);
    expect(((await error).detail.error as Error & { code: string }).code).to.equal('INFER_BAD_SPEC');
  });

  it('uses a backend set through the property, passes it the settings and renders its route', async () => {
    const el = fixture(html`<kpc-infer model="kpc-small" prompt="route me" max-tokens="2" temperature="0.5" seed="7"></kpc-infer>`)
      .firstElementChild as KpcInfer;
    const fake = fakeBackend(ROUTED);
    el.backend = fake;
    const log = record(el);
    const detail = await el.generate();
    await el.updateComplete;
    expect(fake.calls).to.have.length(1);
    const [prompt, opts] = fake.calls[0];
    expect(prompt).to.equal('route me');
    expect(opts).to.include({ model: 'kpc-small', maxTokens: 2, temperature: 0.5, seed: 7 });
    expect(opts.signal).to.be.instanceOf(AbortSignal);
    expect(log.start[0].backend).to.equal('property');
    expect(log.tokens).to.deep.equal(ROUTED);
    expect(detail?.text).to.equal('Hi');
    expect(shown(el, 'output')).to.equal('Hi');
    const route = part(el, '[part=route]');
    expect(route.hasAttribute('hidden')).to.equal(false);
    expect(route.getAttribute('data-index')).to.equal('1');
    expect(route.textContent?.replace(/\s+/g, ' ').trim()).to.equal('token 1: aaaaaaaa, layers 0–3 → cccccccc, layers 4–7');
    expect([...route.querySelectorAll('[title]')].map((n) => n.getAttribute('title'))).to.include.members([ID_A, ID_C, 'blocks [4, 8)']);
  });

  it('renders untrusted output as text, never HTML', async () => {
    const el = fixture(html`<kpc-infer></kpc-infer>`).firstElementChild as KpcInfer;
    const evil = '<img src=x onerror="window.__kpcPwned=1"><b>bold</b>';
    el.backend = fakeBackend([{ token: 60, text: evil, index: 0, ms: 1 }]);
    await el.generate();
    await el.updateComplete;
    const output = part(el, '[part=output]');
    expect(output.textContent).to.equal(evil);
    expect(output.querySelector('img, b')).to.equal(null);
    expect((window as { __kpcPwned?: number }).__kpcPwned).to.equal(undefined);
    expect(part(el, '[part=route]').hasAttribute('hidden')).to.equal(true);
  });

  it('uses the cluster context\'s inference backend when there is one; the property wins over it', async () => {
    const root = fixture(html`<div></div>`).firstElementChild as HTMLElement;
    const fromCluster = fakeBackend(ROUTED);
    new ContextProvider(root, {
      context: clusterContext,
      initialValue: { clusterId: 'c', signaling: [], iceServers: [], registry: new ClusterRegistry(), inference: fromCluster },
    });
    const el = document.createElement('kpc-infer');
    root.append(el);
    await el.updateComplete;
    expect(el.activeBackend.source).to.equal('cluster');
    const log = record(el);
    await el.generate();
    expect(fromCluster.calls).to.have.length(1);
    expect(log.start[0].backend).to.equal('cluster');

    const own = fakeBackend([{ token: 33, text: '!', index: 0, ms: 1 }]);
    el.backend = own;
    expect((await el.generate())?.text).to.equal('!');
    expect(own.calls).to.have.length(1);
    expect(fromCluster.calls).to.have.length(1);
  });

  it('inside a <kpc-cluster> with no READY node, the cluster backend runs the model in this tab', async () => {
    const root = fixture(html`<kpc-cluster signaling="local:kpc-infer-test" cluster-id="kpc-infer-test"><kpc-infer max-tokens="3"></kpc-infer></kpc-cluster>`);
    const el = root.querySelector('kpc-infer')!;
    await el.updateComplete;
    expect(el.activeBackend.source).to.equal('cluster');
    const log = record(el);
    expect((await el.generate())?.tokens).to.equal(3);
    expect(log.tokens[0].route?.[0].nodes).to.deep.equal([THIS_TAB]);
  });

  it('inside a <kpc-cluster> of READY nodes, the layers run on the nodes and the tokens equal LocalModel', async () => {
    const signaling = (await executeServerCommand('signal-url')) as string;
    const cluster = `infer-${Math.random().toString(36).slice(2)}`;
    const root = fixture(html`<kpc-cluster signaling=${signaling} cluster-id=${cluster}>
      ${[0, 1, 2, 3].map((i) => html`<kpc-node autostart identity-slot=${`${cluster}-${i}`}></kpc-node>`)}
      <kpc-infer max-tokens="12" temperature="0.8" seed="1" prompt=${PROMPT}></kpc-infer>
    </kpc-cluster>`);
    const nodes = [...root.querySelectorAll('kpc-node')];
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 3 && n.peers.every((p) => p.state === 'READY')), 30_000, 'four READY nodes');
    const el = root.querySelector('kpc-infer')!;
    const log = record(el);
    const done = await el.generate();
    const want = [];
    for await (const t of (await LocalModel.load('kpc-tiny')).generate(PROMPT, { maxTokens: 12, temperature: 0.8, seed: 1 })) want.push(t.token);
    expect(done?.tokenIds).to.deep.equal(want);
    const ids = new Set(nodes.map((n) => n.nodeId));
    expect(log.tokens[0].route!.every((hop) => hop.nodes.every((id) => ids.has(id)))).to.equal(true);
    const shown = part(el, '[part=route]').textContent ?? '';
    expect(nodes.some((n) => shown.includes(n.nodeId!.slice(0, 8))), shown).to.equal(true);
  });

  it('inside a <kpc-cluster> of READY nodes, a GGUF URL runs across the nodes: each holds only its blocks, the tokens are one node\'s', async () => {
    const signaling = (await executeServerCommand('signal-url')) as string;
    const cluster = `gguf-${Math.random().toString(36).slice(2)}`;
    const url = '/models/kjv-llama-3m/model-q8_0.gguf';
    const root = fixture(html`<kpc-cluster signaling=${signaling} cluster-id=${cluster}>
      ${[0, 1, 2].map((i) => html`<kpc-node autostart identity-slot=${`${cluster}-${i}`}></kpc-node>`)}
      <kpc-mesh-view></kpc-mesh-view>
      <kpc-infer model=${url} max-tokens="10" prompt="And God said"></kpc-infer>
    </kpc-cluster>`);
    const nodes = [...root.querySelectorAll('kpc-node')];
    const progress: Array<{ nodeId: string; loadedBytes: number; totalBytes: number }> = [];
    for (const n of nodes) n.addEventListener('kpc-model-progress', (e) => progress.push((e as CustomEvent).detail));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 2 && n.peers.every((p) => p.state === 'READY')), 30_000, 'three READY nodes');
    await waitFor(() => nodes.every((n) => n.node!.entries('cluster/capacity/').length === 3), 20_000, 'budgets announced');
    const el = root.querySelector('kpc-infer')!;
    let barSeen = false;
    const bar = part(el, '[part=progress]') as HTMLProgressElement;
    const watch = new MutationObserver(() => {
      if (!bar.hidden && bar.value > 0) barSeen = true;
    });
    watch.observe(bar, { attributes: true });
    const done = await el.generate();
    const want: number[] = [];
    for await (const t of (await loadGgufModel(url)).localModel().generate('And God said', { maxTokens: 10 })) want.push(t.token);
    expect(done?.tokenIds).to.deep.equal(want);
    watch.disconnect();
    expect(barSeen, 'the progress bar showed while the cluster loaded').to.equal(true);
    await el.updateComplete;
    expect(part(el, '[part=note]').getAttribute('data-verified')).to.equal('true');
    const modelId = (nodes[0].node!.entries('cluster/hosted-model')[0].value as { modelId: string }).modelId;
    const held = await Promise.all(nodes.map(async (n) => (await n.node!.hostedModel(modelId)).heldBlocks()));
    expect(held.flat().reduce((k, [f, t]) => k + t - f, 0)).to.equal(8);
    expect(held.every((b) => b.length > 0)).to.equal(true);
    // Each <kpc-node> says which blocks it holds and what it downloaded; kpc-model-progress came from every node.
    for (const [i, n] of nodes.entries()) {
      const shown = n.shadowRoot!.querySelector('[part=model]')!;
      expect(shown.getAttribute('data-blocks')).to.equal(held[i].map(([f, t]) => (t - f === 1 ? `${f}` : `${f}-${t - 1}`)).join(','));
      expect(shown.getAttribute('data-loaded')).to.equal(shown.getAttribute('data-total'));
      expect(progress.some((p) => p.nodeId === n.nodeId)).to.equal(true);
    }
    // The mesh view rings each node in its segment's colour: three holders, three segments.
    const mesh = root.querySelector('kpc-mesh-view')!;
    await waitFor(() => mesh.shadowRoot!.querySelectorAll('[part=segment]').length === 3, 10_000, 'segment rings');
    const rings = [...mesh.shadowRoot!.querySelectorAll('[part=segment]')].map((r) => r.getAttribute('class'));
    expect(new Set(rings).size).to.equal(3);
  });

  it('chat: each Generate is the next user turn, formatted by the model\'s template; the output shows the conversation', async () => {
    const seen: Array<{ prompt: string; chat: boolean | undefined }> = [];
    const backend: InferenceBackend = {
      async chatFormat() {
        return { template: "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}" };
      },
      async *generate(prompt, opts) {
        seen.push({ prompt, chat: opts.chat });
        const answer = seen.length === 1 ? 'Hi.' : 'Fine.';
        for (const [index, text] of [...answer].entries()) yield { token: index, text, index, ms: 1 };
      },
    };
    const root = fixture(html`<kpc-infer chat prompt="Hello" .backend=${backend}></kpc-infer>`);
    const el = root.firstElementChild as KpcInfer;
    expect((await el.generate())?.text).to.equal('Hi.');
    el.prompt = 'How are you?';
    await el.generate();
    expect(seen).to.deep.equal([
      { prompt: '<user>Hello</user><assistant>', chat: true },
      { prompt: '<user>Hello</user><assistant>Hi.</assistant><user>How are you?</user><assistant>', chat: true },
    ]);
    await el.updateComplete;
    expect(part(el, '[part=output]').textContent).to.equal('You: Hello\nModel: Hi.\n\nYou: How are you?\nModel: Fine.');
    expect(el.conversation.map((m) => m.role)).to.deep.equal(['user', 'assistant', 'user', 'assistant']);
    el.resetChat();
    el.prompt = 'Again';
    await el.generate();
    expect(seen[2].prompt).to.equal('<user>Again</user><assistant>');
  });

  it('chat with a model without a template runs plain completion and says so', async () => {
    const seen: Array<{ prompt: string; chat: boolean | undefined }> = [];
    const backend: InferenceBackend = {
      async chatFormat() {
        return undefined;
      },
      async *generate(prompt, opts) {
        seen.push({ prompt, chat: opts.chat });
        yield { token: 0, text: '!', index: 0, ms: 1 };
      },
    };
    const root = fixture(html`<kpc-infer chat prompt="Hello" .backend=${backend}></kpc-infer>`);
    const el = root.firstElementChild as KpcInfer;
    await el.generate();
    await el.updateComplete;
    expect(seen).to.deep.equal([{ prompt: 'Hello', chat: undefined }]);
    expect(part(el, '[part=note]').textContent).to.contain('No chat template');
  });

  it('removing the element stops its run', async () => {
    const root = fixture(html`<kpc-infer prompt=${PROMPT} max-tokens="200"></kpc-infer>`);
    const el = root.firstElementChild as KpcInfer;
    const log = record(el);
    el.addEventListener('kpc-token', () => el.remove(), { once: true });
    expect(await el.generate()).to.equal(null);
    await waitFor(() => el.status === 'stopped', 5_000, 'stopped after removal');
    expect(log.complete).to.deep.equal([]);
    expect(log.errors).to.deep.equal([]);
  });
});
