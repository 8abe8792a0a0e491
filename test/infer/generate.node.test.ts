import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import { EOS, LocalModel, MODEL_PRESETS, decode, type GenerateOptions, type GeneratedToken } from '../../src/infer/index.js';
import { GOLDEN_PROMPT, firstTokens } from './golden.js';
import { rejection } from '../helpers/rejection.js';

const tiny = await LocalModel.load('kpc-tiny');
/** kpc-tiny with a 16-position context. */
const short = await LocalModel.load({ ...MODEL_PRESETS['kpc-tiny'], contextLength: 16 });

async function collect(model: LocalModel, prompt: string, opts: GenerateOptions): Promise<GeneratedToken[]> {
  const out: GeneratedToken[] = [];
  for await (const t of model.generate(prompt, opts)) out.push(t);
  return out;
}

describe('LocalModel.generate', () => {
  it('same seed → same tokens; different seeds → different tokens (almost always)', async () => {
    const a = await firstTokens(tiny, 1, 7, 16);
    expect(await firstTokens(tiny, 1, 7, 16)).to.deep.equal(a);
    const seqs = new Set<string>();
    for (let seed = 0; seed < 8; seed++) seqs.add((await firstTokens(tiny, 1, seed, 16)).join(','));
    expect(seqs.size).to.be.at.least(7);
  });

  it('temperature 0 ignores the seed', async () => {
    expect(await firstTokens(tiny, 0, 1)).to.deep.equal(await firstTokens(tiny, 0, 99));
  });

  it('is deterministic for any prompt, and a fresh model agrees with a used one', async () => {
    const fresh = await LocalModel.load('kpc-tiny');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff }), async (prompt, seed) => {
        const x = await firstTokens(tiny, 0.7, seed, 4, prompt);
        const y = await firstTokens(fresh, 0.7, seed, 4, prompt);
        return x.join() === y.join();
      }),
      { numRuns: 15 },
    );
  });

  it('streams indices, timings and text whose concatenation decodes the tokens', async () => {
    const out = await collect(tiny, GOLDEN_PROMPT, { maxTokens: 40, temperature: 1, seed: 3, stopAtEos: false });
    expect(out.map((t) => t.index)).to.deep.equal([...Array(40).keys()]);
    for (const t of out) expect(t.ms).to.be.a('number').and.at.least(0);
    expect(out.map((t) => t.text).join('')).to.equal(decode(out.map((t) => t.token)));
    for (const t of out) expect(t.token).to.be.below(256);
  });

  it('ends on EOS with EOS as the last item (the flush of an unfinished character as its text)', async () => {
    // At a very high temperature every byte and EOS are about equally likely: some seed hits EOS early.
    let found: GeneratedToken[] | undefined;
    for (let seed = 0; seed < 50 && !found; seed++) {
      const out = await collect(tiny, 'x', { maxTokens: 120, temperature: 1000, seed });
      if (out.at(-1)?.token === EOS) found = out;
    }
    expect(found, 'some seed samples EOS within 120 tokens').to.not.equal(undefined);
    const out = found!;
    expect(out.slice(0, -1).every((t) => t.token < 256)).to.equal(true);
    expect(out.map((t) => t.text).join('')).to.equal(decode(out.map((t) => t.token)));
  });

  it('maxTokens 0 yields nothing', async () => {
    expect(await collect(tiny, 'hi', { maxTokens: 0 })).to.deep.equal([]);
  });

  it('a prompt longer than the context fails with INFER_CONTEXT_OVERFLOW', async () => {
    const err = await rejection(collect(short, 'x'.repeat(16), { maxTokens: 1 })); // 17 tokens with BOS
    expect(isKpcError(err, 'INFER_CONTEXT_OVERFLOW')).to.equal(true);
    expect((err as { detail: unknown }).detail).to.deep.equal({ tokens: 17, contextLength: 16 });
    const long = await rejection(collect(tiny, 'π'.repeat(128), { maxTokens: 1 })); // 257 tokens: bytes count, not characters
    expect(isKpcError(long, 'INFER_CONTEXT_OVERFLOW')).to.equal(true);
  });

  it('generation ends cleanly when the context is full', async () => {
    expect(await collect(short, 'x'.repeat(15), { maxTokens: 10, stopAtEos: false })).to.have.length(1); // 16 tokens: one more fits
    expect(await collect(short, 'abc', { maxTokens: 100, stopAtEos: false })).to.have.length(16 - 4 + 1);
  });

  it('aborting mid-stream rejects the next step with INFER_ABORTED', async () => {
    const ctl = new AbortController();
    const seen: number[] = [];
    const err = await rejection((async () => {
      for await (const t of tiny.generate(GOLDEN_PROMPT, { maxTokens: 1000, signal: ctl.signal, stopAtEos: false })) {
        seen.push(t.index);
        if (t.index === 4) ctl.abort('user');
      }
    })());
    expect(isKpcError(err, 'INFER_ABORTED')).to.equal(true);
    expect(seen).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('aborting from a timer while the prompt runs stops before the first token', async () => {
    const ctl = new AbortController();
    const long = 'abcdefgh'.repeat(30); // 241 tokens: eight prompt chunks, two blocks each
    const it = tiny.generate(long, { maxTokens: 5, signal: ctl.signal })[Symbol.asyncIterator]();
    const pending = it.next();
    setImmediate(() => ctl.abort()); // runs at the generator's first yield to the event loop
    const err = await rejection(pending);
    expect(isKpcError(err, 'INFER_ABORTED')).to.equal(true);
  });

  it('an already aborted signal fails at once', async () => {
    const err = await rejection(collect(tiny, 'hi', { maxTokens: 3, signal: AbortSignal.abort() }));
    expect(isKpcError(err, 'INFER_ABORTED')).to.equal(true);
  });

  it('rejects bad options with INFER_BAD_INPUT', async () => {
    const bad: GenerateOptions[] = [
      { maxTokens: -1 },
      { maxTokens: 1.5 },
      { maxTokens: 3, temperature: -1 },
      { maxTokens: 3, temperature: Infinity },
      { maxTokens: 3, temperature: NaN },
      { maxTokens: 3, seed: -1 },
      { maxTokens: 3, seed: 2 ** 32 },
    ];
    for (const opts of bad) expect(isKpcError(await rejection(collect(tiny, 'x', opts)), 'INFER_BAD_INPUT'), JSON.stringify(opts)).to.equal(true);
    expect(isKpcError(await rejection(collect(tiny, 42 as never, { maxTokens: 1 })), 'INFER_BAD_INPUT')).to.equal(true);
  });

  it('load rejects a bad spec with INFER_BAD_SPEC', async () => {
    expect(isKpcError(await rejection(LocalModel.load({ ...MODEL_PRESETS['kpc-tiny'], dim: 0 })), 'INFER_BAD_SPEC')).to.equal(true);
    expect(isKpcError(await rejection(LocalModel.load('nope' as never)), 'INFER_BAD_SPEC')).to.equal(true);
  });

  it('runs on an injected runtime (virtual clock and timers)', async () => {
    let now = 0;
    const runtime = {
      now: () => (now += 5),
      setTimeout: (fn: () => void) => setImmediate(fn),
      clearTimeout: () => {},
      setInterval: () => 0,
      random: () => 0.5,
    };
    const model = await LocalModel.load('kpc-tiny', { runtime });
    const out = await collect(model, 'hi', { maxTokens: 3, stopAtEos: false });
    expect(out.map((t) => t.ms)).to.deep.equal([5, 5, 5]);
    expect(out.map((t) => t.token)).to.deep.equal(await firstTokens(tiny, 0, 0, 3, 'hi'));
  });
});
