/**
 * Chat templates: GGUF metadata `tokenizer.chat_template` (the Jinja template of Hugging
 * Face's tokenizer_config.json) turns a conversation into the prompt text the model was
 * trained on. Rendering uses `@huggingface/jinja`, imported on first use only. Templates
 * come from model files, so they are untrusted: source, inputs, work, time and value sizes
 * are bounded ({@link CHAT_LIMITS}). See docs/chat.md.
 */
import type * as JinjaModule from '@huggingface/jinja';
import { KpcError } from '../errors.js';
import type { EncodeOptions, Tokenizer } from './tokenizer.js';

/** One turn of a conversation. */
export interface ChatMessage {
  /** Who speaks: usually `system`, `user` or `assistant`; templates may know others. */
  role: 'system' | 'user' | 'assistant' | (string & {});
  /** What was said. */
  content: string;
}

/** Texts of the special tokens a template may print (`bos_token`, `eos_token`); absent ones render as ''. */
export interface ChatSpecials {
  bos?: string;
  eos?: string;
}

/** Options of {@link ChatTemplate.format}. */
export interface ChatFormatOptions {
  /** End with the opening of an assistant turn (`add_generation_prompt`). Default true. */
  addGenerationPrompt?: boolean;
}

/**
 * Bounds on templates and their rendering. A template that exceeds one fails with
 * `TOKENIZER_BAD_TEMPLATE`; messages that exceed one fail with `INFER_BAD_INPUT`.
 */
export const CHAT_LIMITS = Object.freeze({
  /** Characters of template source. */ templateChars: 64 * 1024,
  /** Messages per render. */ messages: 4096,
  /** Characters of all roles and contents together, per render. */ inputChars: 1 << 20,
  /** Characters of any string a template builds, the output included. */ stringChars: 4 << 20,
  /** Entries of any list or mapping a template builds (`range()` included). */ collectionItems: 65536,
  /** Evaluation steps per render: expressions, blocks (each loop iteration), 64 output characters. */ steps: 1_000_000,
  /** Wall-clock milliseconds per render (checked at every step). */ millis: 2000,
});

type Jinja = typeof JinjaModule;
type Program = ReturnType<Jinja['parse']>;

const METADATA_KEY = 'tokenizer.chat_template';
let jinjaModule: Promise<Jinja> | undefined;

/** Imports the Jinja engine once; a failed import is retried on the next call. */
function loadJinja(): Promise<Jinja> {
  jinjaModule ??= import('@huggingface/jinja').catch((err: unknown) => {
    jinjaModule = undefined;
    throw err;
  });
  return jinjaModule;
}

/** Thrown by the template's `raise_exception(message)`. */
class TemplateRaised extends Error {}
const raiseException = (message: unknown): never => {
  throw new TemplateRaised(String(message));
};

const bad = (message: string, detail: Record<string, unknown>) => new KpcError('TOKENIZER_BAD_TEMPLATE', message, detail);
const limit = (name: keyof typeof CHAT_LIMITS, what: string) =>
  bad(`chat template exceeded ${what} (limit ${CHAT_LIMITS[name]})`, { stage: 'render', limit: name });
const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Python's `range`, refusing more than {@link CHAT_LIMITS.collectionItems} numbers. */
function boundedRange(start: unknown, stop?: unknown, step: unknown = 1): number[] {
  const [a, b] = stop === undefined || stop === null ? [0, start] : [start, stop];
  const ints = [a, b, step].every((x) => typeof x === 'number' && Number.isInteger(x));
  if (!ints || step === 0) throw new Error('range() takes integers and a non-zero step');
  const [lo, hi, st] = [a as number, b as number, step as number];
  const count = Math.max(0, Math.ceil((hi - lo) / st));
  if (count > CHAT_LIMITS.collectionItems) throw limit('collectionItems', `range() of ${count} items`);
  return Array.from({ length: count }, (_, i) => lo + i * st);
}

/** Python's `strftime` for the directives chat templates use (`%d %b %Y`…), in English. */
function strftimeNow(format: unknown): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'short' | 'long') => d.toLocaleString('en-US', { month: style });
  const parts: Record<string, string> = { '%Y': String(d.getFullYear()), '%m': two(d.getMonth() + 1), '%d': two(d.getDate()) };
  Object.assign(parts, { '%b': month('short'), '%B': month('long'), '%H': two(d.getHours()), '%M': two(d.getMinutes()), '%%': '%' });
  return String(format).replace(/%[YmdbBHM%]/g, (t) => parts[t]);
}

/** Size of a runtime value for the limits: string length, list length or mapping size. */
const sizeOf = (v: unknown) => (typeof v === 'string' || Array.isArray(v) ? v.length : v instanceof Map ? v.size : 0);

/** Copies and checks messages against {@link CHAT_LIMITS}; `INFER_BAD_INPUT` when they don't fit. */
function checkMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  const input = (message: string, detail?: Record<string, unknown>) => new KpcError('INFER_BAD_INPUT', message, detail);
  if (!Array.isArray(messages)) throw input('chat messages must be an array');
  const count = messages.length;
  if (count > CHAT_LIMITS.messages) throw input(`too many chat messages (limit ${CHAT_LIMITS.messages})`, { count });
  let chars = 0;
  return messages.map((m, index) => {
    if (typeof m?.role !== 'string' || typeof m.content !== 'string') {
      throw input(`chat message ${index} needs a string role and content`, { index });
    }
    chars += m.role.length + m.content.length;
    if (chars > CHAT_LIMITS.inputChars) throw input(`chat messages exceed ${CHAT_LIMITS.inputChars} characters`, { index });
    return { role: m.role, content: m.content };
  });
}

/**
 * A compiled chat template. Build one with {@link ChatTemplate.fromMetadata} or
 * {@link ChatTemplate.compile}; both load the Jinja engine on first use.
 */
export class ChatTemplate {
  private constructor(
    /** The Jinja source. */
    readonly source: string,
    private readonly jinja: Jinja,
    private readonly program: Program,
    private readonly specials: ChatSpecials,
  ) {}

  /**
   * The template in GGUF metadata `tokenizer.chat_template`, or undefined when the model has
   * none. `specials` are the texts of BOS/EOS (see {@link chatSpecials}).
   *
   * @throws KpcError `TOKENIZER_BAD_TEMPLATE` when the value is not a string or does not compile.
   */
  static async fromMetadata(get: (key: string) => unknown, specials: ChatSpecials): Promise<ChatTemplate | undefined> {
    const source = get(METADATA_KEY);
    if (source === undefined || source === null) return undefined;
    if (typeof source !== 'string') throw bad(`${METADATA_KEY} must be a string`, { stage: 'compile', type: typeof source });
    return ChatTemplate.compile(source, specials);
  }

  /**
   * Compiles Jinja `source`.
   *
   * @throws KpcError `TOKENIZER_BAD_TEMPLATE` for a syntax error or a source longer than
   *   {@link CHAT_LIMITS.templateChars}.
   */
  static async compile(source: string, specials: ChatSpecials = {}): Promise<ChatTemplate> {
    if (typeof source !== 'string') throw bad('a chat template must be a string', { stage: 'compile' });
    if (source.length > CHAT_LIMITS.templateChars) {
      const detail = { stage: 'compile', limit: 'templateChars' };
      throw bad(`chat template too long: ${source.length} characters (limit ${CHAT_LIMITS.templateChars})`, detail);
    }
    const jinja = await loadJinja();
    let program: Program;
    try {
      program = jinja.parse(jinja.tokenize(source, { lstrip_blocks: true, trim_blocks: true }));
    } catch (err) {
      throw bad(`chat template does not compile: ${describe(err)}`, { stage: 'compile' });
    }
    return new ChatTemplate(source, jinja, program, { bos: specials.bos, eos: specials.eos });
  }

  /**
   * Renders `messages` into prompt text, with the variables Hugging Face templates expect:
   * `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `raise_exception`,
   * `range`, `strftime_now`. Synchronous and bounded by {@link CHAT_LIMITS}.
   *
   * @throws KpcError `TOKENIZER_BAD_TEMPLATE` when rendering fails, the template calls
   *   `raise_exception` (`detail.raised`), or a limit is hit (`detail.limit`);
   *   `INFER_BAD_INPUT` for malformed or too many/large messages.
   */
  format(messages: readonly ChatMessage[], opts: ChatFormatOptions = {}): string {
    const env = new this.jinja.Environment();
    const globals: Record<string, unknown> = {
      true: true, false: false, none: null, True: true, False: false, None: null,
      range: boundedRange,
      strftime_now: strftimeNow,
      raise_exception: raiseException,
      messages: checkMessages(messages),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: this.specials.bos ?? '',
      eos_token: this.specials.eos ?? '',
    };
    for (const [name, value] of Object.entries(globals)) env.set(name, value);

    const interpreter = new this.jinja.Interpreter(env);
    const evaluate = interpreter.evaluate.bind(interpreter);
    const deadline = performance.now() + CHAT_LIMITS.millis;
    let steps = 0;
    const charge = (n: number) => {
      if ((steps += n) > CHAT_LIMITS.steps) throw limit('steps', `${CHAT_LIMITS.steps} evaluation steps`);
      if (performance.now() > deadline) throw limit('millis', 'its time budget');
    };
    const check = (v: unknown) => {
      const [size, text] = [sizeOf(v), typeof v === 'string'];
      if (text && size > CHAT_LIMITS.stringChars) throw limit('stringChars', `a string of ${size} characters`);
      if (!text && size > CHAT_LIMITS.collectionItems) throw limit('collectionItems', `a collection of ${size} items`);
    };
    // The interpreter evaluates expressions through this.evaluate and renders statement
    // lists (the template, each loop iteration, each branch) through this.renderBlock:
    // count both, a block also per 64 characters it outputs, and bound their values.
    interpreter.evaluate = (node, scope) => {
      charge(1);
      const result = evaluate(node, scope);
      check(result.value);
      return result;
    };
    const blocks = interpreter as unknown as { renderBlock?: (body: unknown, scope: unknown) => string };
    const renderBlock = blocks.renderBlock?.bind(interpreter);
    if (renderBlock !== undefined) {
      blocks.renderBlock = (body, scope) => {
        charge(1);
        const out = renderBlock(body, scope);
        check(out);
        charge(out.length >> 6);
        return out;
      };
    }
    try {
      const out: unknown = interpreter.run(this.program).value;
      return typeof out === 'string' ? out : String(out ?? '');
    } catch (err) {
      if (err instanceof KpcError) throw err;
      if (err instanceof TemplateRaised) throw bad(`chat template raised: ${err.message}`, { stage: 'render', raised: true });
      throw bad(`chat template failed: ${describe(err)}`, { stage: 'render' });
    }
  }
}

/** The BOS/EOS texts a template prints, from a {@link Tokenizer} (absent tokens left out). */
export function chatSpecials(tokenizer: Tokenizer): ChatSpecials {
  return { bos: textOf(tokenizer, tokenizer.bos), eos: textOf(tokenizer, tokenizer.eos) };
}

const textOf = (tokenizer: Tokenizer, id: number | null) => (id === null ? undefined : tokenizer.tokenText(id));

/**
 * How to encode a formatted chat prompt with `tokenizer.encode(prompt, …)`: special-token
 * texts (`<|im_start|>`, `<s>`…) become their tokens, no EOS is appended, and BOS is added
 * by the model's rule unless the prompt already starts with the BOS text (templates that
 * print `bos_token`), so the sequence never starts with two BOS. Same ids as llama.cpp,
 * which strips the template's leading BOS text and lets the tokenizer add it.
 */
export function chatEncodeOptions(tokenizer: Tokenizer, prompt: string): EncodeOptions {
  const bos = textOf(tokenizer, tokenizer.bos);
  const printed = bos !== undefined && bos !== '' && prompt.startsWith(bos);
  return { parseSpecial: true, addEos: false, addBos: tokenizer.addBos && !printed };
}

/**
 * A conversation formatted by a {@link ChatTemplate}. The caller generates: encode
 * {@link ChatSession.prompt}'s text (with {@link chatEncodeOptions}), sample until an
 * end-of-generation token, decode, and hand the text to {@link ChatSession.reply}.
 */
export class ChatSession {
  /** System message put before the turns, if any. May be changed between prompts. */
  system: string | undefined;
  private readonly turns: ChatMessage[] = [];

  constructor(readonly template: ChatTemplate, opts: { system?: string } = {}) {
    this.system = opts.system;
  }

  /** The user and assistant turns so far (without the system message). */
  get messages(): readonly ChatMessage[] {
    return this.turns.map((m) => ({ ...m }));
  }

  /**
   * Adds a user turn and returns the whole conversation formatted, ending with the
   * assistant's generation prompt. When formatting fails the turn is not kept.
   */
  prompt(userText: string): string {
    if (typeof userText !== 'string') throw new KpcError('INFER_BAD_INPUT', 'the chat message must be a string');
    this.turns.push({ role: 'user', content: userText });
    try {
      return this.template.format(this.conversation(), { addGenerationPrompt: true });
    } catch (err) {
      this.turns.pop();
      throw err;
    }
  }

  /** Records the assistant's answer (the generated text, without the end-of-turn token). */
  reply(assistantText: string): void {
    if (typeof assistantText !== 'string') throw new KpcError('INFER_BAD_INPUT', 'the reply must be a string');
    this.turns.push({ role: 'assistant', content: assistantText });
  }

  /** Forgets all turns; the system message stays. */
  reset(): void {
    this.turns.length = 0;
  }

  private conversation(): ChatMessage[] {
    const head: ChatMessage[] = this.system === undefined ? [] : [{ role: 'system', content: this.system }];
    return head.concat(this.turns);
  }
}
