import { consume } from '@lit/context';
import { LitElement, html, nothing, type ComplexAttributeConverter, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { clusterContext, type ClusterContext } from '../context.js';
import type { KpcErrorDetail } from '../kpc-node/kpc-node.js';
import { EVENT_INIT } from '../shared/config.js';
import { isProceduralModel, localInferenceBackend, type InferenceBackend, type InferenceToken, type RouteSegment } from './backend.js';
import { REPO_MODELS } from '../../src/model/repo-models.js';
import { ChatSession, ChatTemplate, type ChatMessage } from '../../src/tokenizer/chat.js';
import { styles } from './kpc-infer.styles.js';

export {
  LocalInferenceBackend,
  localInferenceBackend,
  isProceduralModel,
  resolveModelRef,
  THIS_TAB,
  type InferenceBackend,
  type InferenceOptions,
  type InferenceToken,
  type RouteSegment,
} from './backend.js';

/** Where a run's tokens come from: the `backend` property, the enclosing cluster's `inference`, or the local model. */
export type InferenceSource = 'property' | 'cluster' | 'local';

/** What `<kpc-infer>` shows: nothing run yet, a run in progress, or how the last one ended. */
export type InferStatus = 'idle' | 'running' | 'done' | 'stopped' | 'error';

/** Detail of `kpc-generate-start`: the settings of the run that starts. */
export interface KpcGenerateStartDetail {
  readonly prompt: string;
  readonly model: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly seed: number;
  /** Which backend runs it. */
  readonly backend: InferenceSource;
}

/** Detail of `kpc-complete` (also what `generate()` resolves with). */
export interface KpcCompleteDetail {
  /** The whole output: every token's `text`, joined. */
  readonly text: string;
  /** Number of tokens produced (an EOS that ended the stream included). */
  readonly tokens: number;
  /** Their ids, in order. */
  readonly tokenIds: readonly number[];
  /** Wall-clock milliseconds from `generate()` to the last token (model loading and the prompt included). */
  readonly ms: number;
  /** `tokens / (ms / 1000)`; 0 when no time was measured. */
  readonly tokensPerSecond: number;
}

const DEFAULTS = { model: 'kpc-tiny', maxTokens: 32, temperature: 0, seed: 0 } as const;

/** The note shown for a procedural model. */
export const UNTRAINED_NOTE = 'Procedural weights are untrained: the output is deterministic but not meaningful language.';

/**
 * What the note says about `model`: for a procedural preset that its weights are
 * untrained; for the repo model what it is; for a GGUF URL its file name.
 */
export function modelNote(model: string): string {
  if (isProceduralModel(model)) return `${model}: ${UNTRAINED_NOTE}`;
  const name = model.split(':', 1)[0];
  const repo = Object.hasOwn(REPO_MODELS, name) ? REPO_MODELS[name] : undefined;
  if (repo) return `${model}: ${repo.description}. Trained weights (GGUF); real text, small model.`;
  const file = model.split(/[?#]/, 1)[0].split('/').pop() || model;
  return `${file}: a GGUF model. Trained weights, fetched by Range requests (in a cluster, each node fetches only its blocks).`;
}

/** A number attribute whose absence or empty value means `fallback`. */
function numberOr(fallback: number): ComplexAttributeConverter<number> {
  return {
    fromAttribute: (value: string | null) => (value === null || value.trim() === '' ? fallback : Number(value)),
    toAttribute: (value: number) => String(value),
  };
}

/** A bubbling, composed `CustomEvent` (the events are documented on the class). */
function kpcEvent<T>(type: string, detail: T): CustomEvent<T> {
  return new CustomEvent<T>(type, { ...EVENT_INIT, detail });
}

const HEX_ID = /^[0-9a-f]{16,}$/i;

/** "layers 0–1" for blocks `[0, 2)`, "layer 3" for `[3, 4)`. */
export function formatLayers([from, to]: readonly [number, number]): string {
  if (to - from === 1) return `layer ${from}`;
  if (to > from) return `layers ${from}–${to - 1}`;
  return `layers [${from}, ${to})`;
}

/** "2 900" tokens/s at 100 and above, "40.5" below. */
function formatRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toLocaleString('en-US').replace(/,/g, ' ') : rate.toFixed(1);
}

/**
 * Runs a model and streams its output: a prompt, Generate and Stop, the text as it
 * arrives, tokens/s, and which node computed which blocks of each token.
 *
 * Tokens come from the `backend` property when set, else from the enclosing
 * `<kpc-cluster>`'s `inference` backend when it offers one, else from the whole
 * model run in this tab (`LocalModel`, loaded once per model name and shared by
 * the page's elements). The model is a procedural preset, whose weights are
 * **untrained** (deterministic output that is not language — the note says so), or a
 * trained llama GGUF model: the repo model by name, or any GGUF by URL (downloaded by
 * Range requests on first use; the status line shows the download).
 *
 * `generate()` while a run is in progress is ignored (it returns that run's
 * promise); attribute changes apply to the next run. `stop()` (and removing the
 * element) aborts the run: a normal end, not an error.
 *
 * The output is untrusted text and is rendered as text, never as HTML.
 *
 * @summary Streams a model's output, locally or over the cluster.
 *
 * @event {CustomEvent<KpcGenerateStartDetail>} kpc-generate-start - A run starts. Detail: `{ prompt, model, maxTokens, temperature, seed, backend }`.
 * @event {CustomEvent<InferenceToken>} kpc-token - One token arrived. Detail: `{ token, text, index, ms, route? }`, as the backend yielded it.
 * @event {CustomEvent<KpcCompleteDetail>} kpc-complete - The run finished (max tokens, EOS or a full context). Detail: `{ text, tokens, tokenIds, ms, tokensPerSecond }`.
 * @event {CustomEvent<KpcErrorDetail>} kpc-error - The run failed, e.g. KpcError `INFER_CONTEXT_OVERFLOW` (prompt longer than the context), `INFER_BAD_SPEC` (unknown model), `INFER_BAD_INPUT` (bad option). Not fired on stop. Detail: `{ error }`.
 *
 * @csspart base - The box around everything (`data-status`, `data-backend`).
 * @csspart prompt - The prompt `<textarea>` (Ctrl/⌘+Enter generates).
 * @csspart generate - The Generate button (disabled while running).
 * @csspart stop - The Stop button (disabled when not running).
 * @csspart output - The streamed text (`<pre>`).
 * @csspart progress - A `<progress>` bar while the model's weights download (in a cluster: every node's share summed); hidden otherwise.
 * @csspart status - Status, token count and tokens/s, or the error (`data-status`: `idle`, `running`, `done`, `stopped`, `error`; `data-tokens`).
 * @csspart route - Where the last token was computed, e.g. "this tab, layers 0–1" (`data-index`); hidden when the backend does not say.
 * @csspart note - Which model runs and what it is; for a procedural model, that its weights are untrained (`data-trained`); for a GGUF run on a cluster, whether its tensors are checked against a manifest (`data-verified`).
 *
 * @cssprop [--kpc-font-family=system-ui, sans-serif] - Font.
 * @cssprop [--kpc-color-text=inherit] - Text colour.
 * @cssprop [--kpc-font-mono=ui-monospace, monospace] - Font of the prompt, the output and node ids.
 * @cssprop [--kpc-color-muted=#4b5563] - Colour of the status, route and note.
 * @cssprop [--kpc-color-danger=#b91c1c] - Colour of an error in the status line.
 * @cssprop [--kpc-infer-background=transparent] - Box background.
 * @cssprop [--kpc-infer-border=1px solid #d1d5db] - Box border.
 * @cssprop [--kpc-infer-radius=0.5em] - Box corner radius.
 * @cssprop [--kpc-infer-padding=0.75em] - Box padding.
 * @cssprop [--kpc-infer-gap=0.5em] - Space between the rows.
 * @cssprop [--kpc-infer-font-size=0.875rem] - Font size.
 * @cssprop [--kpc-infer-accent=#0369a1] - Background of the Generate button.
 * @cssprop [--kpc-infer-accent-text=#ffffff] - Its text colour.
 * @cssprop [--kpc-infer-output-background=#f9fafb] - Background of the output.
 * @cssprop [--kpc-infer-output-height=12em] - Height of the output (it scrolls).
 */
@customElement('kpc-infer')
export class KpcInfer extends LitElement {
  static override styles = styles;

  /**
   * The model: a procedural preset (`kpc-tiny`, `kpc-small`; untrained), the repo model
   * (`kjv-llama-3m`, or `kjv-llama-3m:f32|q8_0|q4_0|q4_k_m`), or the URL of a llama GGUF
   * file (its host must allow `Range` requests and, cross-origin, CORS).
   */
  @property()
  model = 'kpc-tiny';

  /**
   * The manifest of a GGUF model given by URL (per-tensor SHA-256s every node checks
   * what it fetches against). Default: the model's URL with `.manifest.json` appended;
   * when there is none the model runs unverified (the note says so).
   */
  @property()
  manifest = '';

  /**
   * In a cluster, nodes holding each block of a GGUF model (default 1). With 2 or more,
   * a node that leaves is replaced by one that already holds its blocks.
   */
  @property({ converter: numberOr(1) })
  replicas = 1;

  /**
   * Conversation mode: when the model carries a chat template (`tokenizer.chat_template`),
   * each Generate sends the prompt as the next user turn of a conversation formatted by
   * that template, and the output shows the whole conversation. A model without one
   * runs plain completion (the note says so). `resetChat()` starts over.
   */
  @property({ type: Boolean, reflect: true })
  chat = false;

  /** Most tokens to produce per run (EOS included). */
  @property({ attribute: 'max-tokens', converter: numberOr(DEFAULTS.maxTokens) })
  maxTokens = 32;

  /** 0 picks the most likely token; > 0 samples (the same seed gives the same tokens). */
  @property({ converter: numberOr(DEFAULTS.temperature) })
  temperature = 0;

  /** uint32 seed of the sampler (unused at temperature 0). */
  @property({ converter: numberOr(DEFAULTS.seed) })
  seed = 0;

  /** The prompt: the attribute gives the initial text, the textarea edits the property. */
  @property()
  prompt = '';

  /** Backend to use instead of the cluster's or the local model; `null` (default): the cluster's, else local. */
  @property({ attribute: false })
  backend: InferenceBackend | null = null;

  @consume({ context: clusterContext, subscribe: true })
  @state()
  private cluster?: ClusterContext;

  @state() private phase: InferStatus = 'idle';
  @state() private out = '';
  @state() private count = 0;
  @state() private lastRoute: { index: number; route: readonly RouteSegment[] } | null = null;
  @state() private lastError: Error | null = null;
  @state() private elapsedMs = 0;
  @state() private source: InferenceSource | null = null;
  @state() private loading: { loadedBytes: number; totalBytes: number } | null = null;
  /** The conversation in chat mode, for the model it was started with. */
  #chat: { model: string; session: ChatSession; transcript: string } | null = null;
  /** Chat was asked for but the model has no template (the note says so). */
  @state() private noTemplate = false;
  /** Whether the hosted model's tensors are checked against a manifest (unknown: undefined). */
  @state() private verified: boolean | undefined = undefined;

  #controller: AbortController | null = null;
  #run: Promise<KpcCompleteDetail | null> | null = null;
  #items: InferenceToken[] = [];

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.#controller !== null;
  }

  /** `idle`, `running`, or how the last run ended (`done`, `stopped`, `error`). */
  get status(): InferStatus {
    return this.phase;
  }

  /** The output of the current (or last) run so far. */
  get text(): string {
    return this.out;
  }

  /** The tokens of the current (or last) run so far, as the backend yielded them. */
  get tokens(): readonly InferenceToken[] {
    return this.#items;
  }

  /** The backend the next run uses, and where it comes from. */
  get activeBackend(): { backend: InferenceBackend; source: InferenceSource } {
    if (this.backend) return { backend: this.backend, source: 'property' };
    if (this.cluster?.inference) return { backend: this.cluster.inference, source: 'cluster' };
    return { backend: localInferenceBackend, source: 'local' };
  }

  /**
   * Runs the model on the prompt, streaming into the output. Resolves with the
   * `kpc-complete` detail, or `null` when stopped; rejects (after `kpc-error`) when
   * the run fails. While a run is in progress it starts nothing and returns that run's promise.
   */
  generate(): Promise<KpcCompleteDetail | null> {
    if (this.#run) return this.#run;
    const controller = new AbortController();
    let settle!: { resolve: (v: KpcCompleteDetail | null) => void; reject: (e: unknown) => void };
    const run = new Promise<KpcCompleteDetail | null>((resolve, reject) => (settle = { resolve, reject }));
    // Set before the run starts, so a kpc-generate-start listener calling generate() gets this run.
    this.#controller = controller;
    this.#run = run;
    this.#execute(controller).then(settle.resolve, settle.reject);
    return run;
  }

  /** Forgets the conversation (chat mode): the next Generate starts a new one. */
  resetChat(): void {
    this.#chat = null;
    if (this.chat && !this.#run) this.out = '';
  }

  /** The conversation so far in chat mode (user and assistant turns), else empty. */
  get conversation(): readonly ChatMessage[] {
    return this.#chat?.session.messages ?? [];
  }

  /** Aborts the run in progress (a normal end: no `kpc-error`); resolves once it has ended. */
  stop(): Promise<void> {
    const run = this.#run;
    this.#controller?.abort();
    return run ? run.then(() => undefined, () => undefined) : Promise.resolve();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // Moving the element (removed and re-inserted in one task) keeps the run going.
    queueMicrotask(() => {
      if (!this.isConnected) void this.stop();
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // What the note says of a model (manifest, chat template) belongs to that model.
    if (changed.has('model') && changed.get('model') !== undefined) {
      this.verified = undefined;
      this.noTemplate = false;
    }
  }

  protected override render() {
    const running = this.phase === 'running';
    return html`
      <div part="base" role="group" aria-label="Inference" data-status=${this.phase} data-backend=${this.source ?? this.activeBackend.source}>
        <textarea
          part="prompt"
          aria-label="Prompt"
          rows="3"
          spellcheck="false"
          placeholder="Prompt"
          .value=${live(this.prompt ?? '')}
          @input=${this.#onInput}
          @keydown=${this.#onKeydown}
        ></textarea>
        <div class="actions">
          <button part="generate" type="button" ?disabled=${running} @click=${this.#onGenerate}>Generate</button>
          <button part="stop" type="button" ?disabled=${!running} @click=${this.#onStop}>Stop</button>
        </div>
        <pre part="output" aria-label="Output" tabindex="0">${this.out}</pre>
        <progress part="progress" ?hidden=${!this.loading} max=${this.loading?.totalBytes ?? 1} value=${this.loading?.loadedBytes ?? 0} aria-label="Model download"></progress>
        <div part="status" role="status" data-status=${this.phase} data-tokens=${this.count}>${this.#statusText()}</div>
        <div part="route" ?hidden=${!this.lastRoute} data-index=${this.lastRoute?.index ?? nothing}>${this.#routeView()}</div>
        <p part="note" data-trained=${isProceduralModel(this.#modelName()) ? 'false' : 'true'} data-verified=${this.verified === undefined ? nothing : String(this.verified)}>${modelNote(this.#modelName())}${this.#verifiedNote()}${this.chat && this.noTemplate ? ' No chat template in this model: plain completion.' : ''}</p>
      </div>
    `;
  }

  // ------------------------------------------------------------------ internals

  async #execute(controller: AbortController): Promise<KpcCompleteDetail | null> {
    const { signal } = controller;
    const { backend, source } = this.activeBackend;
    const settings = {
      prompt: this.prompt ?? '',
      model: this.#modelName(),
      maxTokens: this.maxTokens ?? DEFAULTS.maxTokens,
      temperature: this.temperature ?? DEFAULTS.temperature,
      seed: this.seed ?? DEFAULTS.seed,
    };
    const t0 = performance.now();
    const items: InferenceToken[] = [];
    let text = '';
    this.#items = items;
    this.phase = 'running';
    this.source = source;
    this.out = '';
    this.count = 0;
    this.elapsedMs = 0;
    this.lastRoute = null;
    this.lastError = null;
    this.loading = null;
    this.#emit<KpcGenerateStartDetail>('kpc-generate-start', { ...settings, backend: source });

    // stop() must end the run even if the backend is slow to notice the signal.
    const STOPPED = Symbol('stopped');
    const stopped = new Promise<typeof STOPPED>((resolve) => {
      if (signal.aborted) resolve(STOPPED);
      else signal.addEventListener('abort', () => resolve(STOPPED), { once: true });
    });
    let iterator: AsyncIterator<InferenceToken> | undefined;
    let turn: { session: ChatSession; before: string } | null = null;
    try {
      const { model, maxTokens, temperature, seed } = settings;
      let { prompt } = settings;
      const chat = this.chat ? await this.#chatTurn(backend, model, prompt) : null;
      if (chat) {
        turn = chat;
        prompt = chat.prompt;
        this.out = chat.before;
      }
      const onLoadProgress = (p: { loadedBytes: number; totalBytes: number }): void => {
        this.loading = p.loadedBytes < p.totalBytes ? { loadedBytes: p.loadedBytes, totalBytes: p.totalBytes } : null;
      };
      const hosting = { ...(this.manifest ? { manifest: this.manifest } : {}), replicas: this.replicas };
      const onVerified = (v: boolean): void => {
        this.verified = v;
      };
      iterator = backend.generate(prompt, { model, maxTokens, temperature, seed, signal, onLoadProgress, onVerified, ...hosting, ...(chat ? { chat: true } : {}) })[Symbol.asyncIterator]();
      for (;;) {
        const next = iterator.next();
        next.catch(() => undefined); // an abort may leave it to reject unobserved
        const step = await Promise.race([next, stopped]);
        if (step === STOPPED || step.done || signal.aborted) break;
        const item = step.value;
        this.loading = null;
        items.push(item);
        text += item.text;
        this.out = (turn?.before ?? '') + text;
        this.count = items.length;
        this.elapsedMs = performance.now() - t0;
        this.lastRoute = item.route && item.route.length > 0 ? { index: item.index, route: item.route } : null;
        this.#emit<InferenceToken>('kpc-token', item);
        if (signal.aborted) break;
      }
    } catch (err) {
      this.#finish(controller);
      this.#endTurn(turn, text);
      if (signal.aborted) return this.#stopped();
      const error = err instanceof Error ? err : new Error(String(err));
      this.phase = 'error';
      this.lastError = error;
      this.#emit<KpcErrorDetail>('kpc-error', { error });
      throw error;
    }
    this.#finish(controller);
    this.#endTurn(turn, text);
    if (signal.aborted) {
      iterator?.return?.()?.catch(() => undefined);
      return this.#stopped();
    }
    const ms = performance.now() - t0;
    this.elapsedMs = ms;
    this.phase = 'done';
    const detail: KpcCompleteDetail = {
      text,
      tokens: items.length,
      tokenIds: items.map((t) => t.token),
      ms,
      tokensPerSecond: ms > 0 ? items.length / (ms / 1000) : 0,
    };
    this.#emit<KpcCompleteDetail>('kpc-complete', detail);
    return detail;
  }

  /**
   * The next user turn in chat mode: the formatted prompt and the transcript shown before
   * the answer; null for plain completion (no template: the note says so).
   */
  async #chatTurn(backend: InferenceBackend, model: string, userText: string): Promise<{ session: ChatSession; prompt: string; before: string } | null> {
    if (this.#chat?.model !== model) {
      this.#chat = null;
      const format = await backend.chatFormat?.(model, { ...(this.manifest ? { manifest: this.manifest } : {}), replicas: this.replicas });
      this.noTemplate = !format;
      if (!format) return null;
      const template = await ChatTemplate.compile(format.template, { bos: format.bos, eos: format.eos });
      this.#chat = { model, session: new ChatSession(template), transcript: '' };
    }
    const { session, transcript } = this.#chat;
    const prompt = session.prompt(userText);
    const before = `${transcript}${transcript ? '\n\n' : ''}You: ${userText}\nModel: `;
    return { session, prompt, before };
  }

  /** Records the assistant's answer (whole, partial or empty) so the conversation stays well-formed. */
  #endTurn(turn: { session: ChatSession; before: string } | null, text: string): void {
    if (!turn || this.#chat?.session !== turn.session) return;
    turn.session.reply(text);
    this.#chat.transcript = turn.before + text;
  }

  #verifiedNote(): string {
    if (this.verified === undefined) return '';
    return this.verified ? ' Every tensor is checked against its manifest.' : ' Unverified: no manifest beside the file, so downloaded bytes are not checked.';
  }

  #modelName(): string {
    return (this.model ?? '').trim() || DEFAULTS.model;
  }

  /** Clears the run in progress (before the final event, so its listeners may generate again). */
  #finish(controller: AbortController): void {
    this.loading = null;
    if (this.#controller !== controller) return;
    this.#controller = null;
    this.#run = null;
  }

  #stopped(): null {
    this.phase = 'stopped';
    return null;
  }

  #statusText(): string {
    if (this.phase === 'idle') return 'idle';
    if (this.phase === 'error') {
      const code = (this.lastError as { code?: unknown } | null)?.code;
      return `error · ${typeof code === 'string' ? `${code}: ` : ''}${this.lastError?.message ?? ''}`;
    }
    const n = this.count;
    if (this.phase === 'running' && n === 0 && this.loading) {
      const mb = (b: number): string => (b / 1e6).toFixed(1);
      return `loading ${this.#modelName()} · ${mb(this.loading.loadedBytes)} / ${mb(this.loading.totalBytes)} MB`;
    }
    const parts: string[] = [this.phase === 'running' && n === 0 ? `running · ${this.#modelName()}` : this.phase];
    parts.push(`${n} ${n === 1 ? 'token' : 'tokens'}`);
    if (n > 0 && this.elapsedMs > 0) parts.push(`${formatRate(n / (this.elapsedMs / 1000))} tokens/s`);
    return parts.join(' · ');
  }

  #routeView() {
    if (!this.lastRoute) return nothing;
    const local = new Set((this.cluster?.registry.nodes ?? []).map((n) => n.nodeId).filter((id): id is string => !!id));
    const hops = this.lastRoute.route.map((seg, i) => {
      const names = seg.nodes.map((node, j) => {
        const label = HEX_ID.test(node) ? `${node.slice(0, 8)}${local.has(node) ? ' (this tab)' : ''}` : node;
        return html`${j > 0 ? ' + ' : ''}<span class=${HEX_ID.test(node) ? 'node id' : 'node'} title=${node}>${label}</span>`;
      });
      return html`${i > 0 ? ' → ' : ''}<span class="hop" title=${`blocks [${seg.segment[0]}, ${seg.segment[1]})`}
        >${seg.nodes.length > 0 ? names : 'unknown'}, ${formatLayers(seg.segment)}</span
      >`;
    });
    return html`<span class="label">token ${this.lastRoute.index}:</span> ${hops}`;
  }

  readonly #onInput = (ev: Event): void => {
    this.prompt = (ev.target as HTMLTextAreaElement).value;
  };

  readonly #onKeydown = (ev: KeyboardEvent): void => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      this.#onGenerate();
    }
  };

  readonly #onGenerate = (): void => {
    this.generate().catch(() => undefined); // reported through kpc-error and the status line
  };

  readonly #onStop = (): void => {
    void this.stop();
  };

  #emit<T>(type: string, detail: T): void {
    this.dispatchEvent(kpcEvent(type, detail));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'kpc-infer': KpcInfer;
  }
  interface HTMLElementEventMap {
    'kpc-generate-start': CustomEvent<KpcGenerateStartDetail>;
    'kpc-token': CustomEvent<InferenceToken>;
    'kpc-complete': CustomEvent<KpcCompleteDetail>;
  }
}
