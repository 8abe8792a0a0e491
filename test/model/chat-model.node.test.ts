/** A GGUF's chat template reaches the model's info and codec; chat prompts encode special tokens with one BOS. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ggufValue } from '../../src/gguf/index.js';
import { loadGgufModel } from '../../src/model/index.js';
import { tinyLlamaGguf } from '../helpers/tiny-llama.js';

const TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";

describe('chat templates of GGUF models', () => {
  it('the template and the BOS/EOS texts are in the model info; encodeChat parses special tokens and adds no second BOS', async () => {
    const model = (await loadGgufModel(tinyLlamaGguf({ metadata: [['tokenizer.chat_template', ggufValue.string(TEMPLATE)]] }))).localModel();
    assert.equal(model.info.chat?.template, TEMPLATE);
    const { bos, eos } = model.info.chat!;
    const prompt = `${bos}[user] hi${eos}[assistant]`;
    const chatIds = model.codec.encodeChat!(prompt);
    assert.equal(chatIds.filter((t) => t === 1).length, 1, 'one BOS');
    assert.equal(chatIds[0], 1);
    assert.ok(chatIds.includes(2), 'the EOS text became the EOS token');
    const plainIds = model.codec.encode(prompt);
    assert.ok(!plainIds.slice(1).includes(2), 'plain encoding keeps special-token texts as text');
    const out = [];
    for await (const t of model.generate(prompt, { maxTokens: 3, chat: true, stopAtEos: false })) out.push(t.token);
    assert.equal(out.length, 3);
  });

  it('a model without a template refuses chat prompts with INFER_BAD_INPUT', async () => {
    const model = (await loadGgufModel(tinyLlamaGguf())).localModel();
    assert.equal(model.info.chat, undefined);
    await assert.rejects(async () => {
      for await (const _ of model.generate('x', { maxTokens: 1, chat: true })) void _;
    }, { code: 'INFER_BAD_INPUT' });
  });
});
