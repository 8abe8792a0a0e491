import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KpcError } from '../../src/errors.js';
import {
  CHAT_LIMITS,
  ChatSession,
  ChatTemplate,
  chatEncodeOptions,
  chatSpecials,
  type ChatMessage,
} from '../../src/tokenizer/index.js';
import { getter, kjvTokenizer } from './helpers.js';

// HuggingFaceTB/SmolLM2-135M-Instruct (ChatML with a default system prompt).
const SMOLLM2 =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

// meta-llama/Llama-2-13b-chat-hf (the `\\n` are Jinja string escapes, as in tokenizer_config.json).
const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

// HuggingFaceH4/zephyr-7b-beta, also TinyLlama-1.1B-Chat-v1.0 (newlines between tags rely on trim_blocks).
const ZEPHYR =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

const SPECIALS = { bos: '<s>', eos: '</s>' };
const PIRATE = 'You are a friendly chatbot who always responds in the style of a pirate';
const CHAT: ChatMessage[] = [
  { role: 'user', content: 'Hello, how are you?' },
  { role: 'assistant', content: "I'm doing great. How can I help you today?" },
  { role: 'user', content: "I'd like to show off how chat templating works!" },
];

/** The KpcError `fn` rejects with (sync or async). */
async function failure(fn: () => unknown): Promise<KpcError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof KpcError, `expected a KpcError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a KpcError');
}

describe('chat templates', () => {
  it('renders SmolLM2 ChatML, adding its default system prompt', async () => {
    const t = await ChatTemplate.compile(SMOLLM2, SPECIALS);
    assert.equal(
      t.format([{ role: 'user', content: 'Hi' }]),
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(
      t.format([{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hi' }], { addGenerationPrompt: false }),
      '<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
    );
  });

  it('renders the Llama-2 [INST] template with bos/eos and its system block', async () => {
    const t = await ChatTemplate.compile(LLAMA2, SPECIALS);
    assert.equal(
      t.format([{ role: 'system', content: PIRATE }, ...CHAT]),
      `<s>[INST] <<SYS>>\n${PIRATE}\n<</SYS>>\n\nHello, how are you? [/INST] I'm doing great. How can I help you today? </s>` +
        "<s>[INST] I'd like to show off how chat templating works! [/INST]",
    );
  });

  it("turns the template's raise_exception into TOKENIZER_BAD_TEMPLATE", async () => {
    const t = await ChatTemplate.compile(LLAMA2, SPECIALS);
    const err = await failure(() => t.format([{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }]));
    assert.equal(err.code, 'TOKENIZER_BAD_TEMPLATE');
    assert.match(err.message, /Conversation roles must alternate/);
    assert.equal(err.detail?.raised, true);
  });

  it('renders TinyLlama/Zephyr, with and without the generation prompt', async () => {
    const t = await ChatTemplate.compile(ZEPHYR, SPECIALS);
    const body =
      `<|system|>\n${PIRATE}</s>\n<|user|>\nHello, how are you?</s>\n` +
      "<|assistant|>\nI'm doing great. How can I help you today?</s>\n<|user|>\nI'd like to show off how chat templating works!</s>\n";
    const messages = [{ role: 'system', content: PIRATE }, ...CHAT];
    assert.equal(t.format(messages, { addGenerationPrompt: false }), body);
    assert.equal(t.format(messages), body + '<|assistant|>\n');
  });

  it('reads tokenizer.chat_template from metadata, undefined when absent', async () => {
    assert.equal(await ChatTemplate.fromMetadata(getter({}), SPECIALS), undefined);
    const t = await ChatTemplate.fromMetadata(getter({ 'tokenizer.chat_template': ZEPHYR }), SPECIALS);
    assert.equal(t?.source, ZEPHYR);
    const err = await failure(() => ChatTemplate.fromMetadata(getter({ 'tokenizer.chat_template': 42 }), SPECIALS));
    assert.equal(err.code, 'TOKENIZER_BAD_TEMPLATE');
  });

  it('reports syntax and runtime errors as TOKENIZER_BAD_TEMPLATE', async () => {
    for (const src of ['{% for m in messages %}', '{{ 1 + }}', '{% endif %}', '{{ "unterminated }}']) {
      const err = await failure(() => ChatTemplate.compile(src));
      assert.equal(err.code, 'TOKENIZER_BAD_TEMPLATE', src);
      assert.equal(err.detail?.stage, 'compile');
    }
    for (const src of ['{{ messages[0].content + none }}', '{% for x in 5 %}{% endfor %}', '{{ nothing() }}']) {
      const t = await ChatTemplate.compile(src);
      const err = await failure(() => t.format(CHAT));
      assert.equal(err.code, 'TOKENIZER_BAD_TEMPLATE', src);
      assert.equal(err.detail?.stage, 'render');
    }
  });

  it('bounds template size and message count and size', async () => {
    const long = await failure(() => ChatTemplate.compile('x'.repeat(CHAT_LIMITS.templateChars + 1)));
    assert.equal(long.detail?.limit, 'templateChars');
    const t = await ChatTemplate.compile(SMOLLM2);
    const many = Array.from({ length: CHAT_LIMITS.messages + 1 }, () => ({ role: 'user', content: '' }));
    assert.equal((await failure(() => t.format(many))).code, 'INFER_BAD_INPUT');
    const big = [{ role: 'user', content: 'x'.repeat(CHAT_LIMITS.inputChars) }];
    assert.equal((await failure(() => t.format(big))).code, 'INFER_BAD_INPUT');
    const odd = [{ role: 'user', content: 7 }] as unknown as ChatMessage[];
    assert.equal((await failure(() => t.format(odd))).code, 'INFER_BAD_INPUT');
  });

  it('stops hostile templates: huge ranges, runaway loops and recursion, growing values', async () => {
    const cases: [string, string][] = [
      ['{% for i in range(1000000000) %}x{% endfor %}', 'collectionItems'],
      ['{% for i in range(60000) %}{% for j in range(60000) %}{% endfor %}{% endfor %}', 'steps'],
      ['{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}', 'steps'],
      ['{% set s = namespace(v="ab") %}{% for i in range(40) %}{% set s.v = s.v ~ s.v %}{% endfor %}', 'stringChars'],
      ['{% set s = namespace(v=[1]) %}{% for i in range(40) %}{% set s.v = s.v + s.v %}{% endfor %}', 'collectionItems'],
    ];
    for (const [src, which] of cases) {
      const t = await ChatTemplate.compile(src);
      const started = performance.now();
      const err = await failure(() => t.format(CHAT));
      assert.equal(err.code, 'TOKENIZER_BAD_TEMPLATE', src);
      assert.equal(err.detail?.limit, which, src);
      assert.ok(performance.now() - started < CHAT_LIMITS.millis + 1000, src);
    }
    const deep = await ChatTemplate.compile('{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}');
    assert.equal((await failure(() => deep.format(CHAT))).code, 'TOKENIZER_BAD_TEMPLATE');
  });

  it('keeps a conversation in a ChatSession', async () => {
    const session = new ChatSession(await ChatTemplate.compile(SMOLLM2, SPECIALS), { system: 'Be terse.' });
    const first = session.prompt('Hi');
    assert.equal(first, '<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    session.reply('Hello.');
    const second = session.prompt('Bye');
    assert.equal(second, first + 'Hello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n');
    assert.deepEqual(session.messages.map((m) => m.role), ['user', 'assistant', 'user']);
    session.reset();
    assert.equal(session.messages.length, 0);
    assert.equal(session.prompt('Hi'), first);
  });

  it('does not keep a user turn the template rejects', async () => {
    const session = new ChatSession(await ChatTemplate.compile(LLAMA2, SPECIALS));
    assert.equal(session.prompt('a'), '<s>[INST] a [/INST]');
    assert.equal((await failure(() => session.prompt('b'))).code, 'TOKENIZER_BAD_TEMPLATE');
    assert.equal(session.messages.length, 1);
    session.reply('x');
    assert.equal(session.prompt('b'), '<s>[INST] a [/INST] x </s><s>[INST] b [/INST]');
  });

  it('encodes a prompt with exactly one BOS whether or not the template prints it', async () => {
    const tok = kjvTokenizer(); // SPM, <s> = 1, adds BOS by default
    const specials = chatSpecials(tok);
    assert.deepEqual(specials, { bos: '<s>', eos: '</s>' });
    const printed = (await ChatTemplate.compile(LLAMA2, specials)).format([{ role: 'user', content: 'in the beginning' }]);
    const plain = (await ChatTemplate.compile(ZEPHYR, specials)).format([{ role: 'user', content: 'in the beginning' }]);
    const ids = tok.encode(printed, chatEncodeOptions(tok, printed));
    assert.equal(ids[0], 1);
    assert.notEqual(ids[1], 1);
    assert.equal(ids.filter((id) => id === 1).length, 1);
    const ids2 = tok.encode(plain, chatEncodeOptions(tok, plain));
    assert.equal(ids2[0], 1);
    assert.ok(ids2.includes(2), '</s> text became the EOS token');
    assert.notEqual(ids2.at(-1), 2);
    assert.deepEqual(chatEncodeOptions(tok, plain), { parseSpecial: true, addEos: false, addBos: true });
  });
});
