/**
 * `kpc-generate`: runs a model and prints the continuation of a prompt.
 *
 *   kpc-generate --model models/kjv-llama-3m/model-f32.gguf --prompt "In the beginning" --tokens 64
 *
 * `--json` prints one object instead: `{"promptTokens": [...], "tokens": [...], "text": "..."}`
 * (prompt tokens exactly as fed to the model, BOS included).
 */
import { parseArgs } from 'node:util';
import { isKpcError } from '../src/errors.js';
import type { GenerateOptions } from '../src/infer/generate.js';
import { openModel } from './open-model.js';

const HELP = `Usage: kpc-generate --model <file | URL | name> --prompt <text> [options]

Runs a llama GGUF model (or a procedural preset such as kpc-tiny, whose weights are
untrained) and prints the continuation of the prompt.

  --model <m>            a GGUF file, an http(s) URL (read with Range requests),
                         the repo model "kjv-llama-3m[:f32|q8_0|q4_0|q4_k_m]", or a preset
  --prompt <text>        the prompt (BOS is added as the model's metadata says)
  --tokens <n>           tokens to generate (default 64)
  --temperature <t>      0 = greedy (default); > 0 samples
  --top-k <k>            keep the k most likely tokens (default 0 = all)
  --top-p <p>            nucleus sampling (default 1 = off)
  --repeat-penalty <r>   penalise the last 64 tokens (default 1 = off)
  --seed <s>             uint32 seed of sampling (default 0)
  --context <n>          KV cache positions (default: the model's, at most 4096)
  --json                 print {"promptTokens", "tokens", "text"} instead of text
  --help                 this text
`;

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

class UsageError extends Error {}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' }, prompt: { type: 'string' }, tokens: { type: 'string' }, temperature: { type: 'string' },
        'top-k': { type: 'string' }, 'top-p': { type: 'string' }, 'repeat-penalty': { type: 'string' }, seed: { type: 'string' },
        context: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`kpc-generate: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let opts: GenerateOptions;
  let context: number | undefined;
  try {
    if (!values.model) throw new UsageError('--model is required');
    if (values.prompt === undefined) throw new UsageError('--prompt is required');
    opts = {
      maxTokens: num(values.tokens, 'tokens', 64),
      temperature: num(values.temperature, 'temperature', 0),
      topK: num(values['top-k'], 'top-k', 0),
      topP: num(values['top-p'], 'top-p', 1),
      repeatPenalty: num(values['repeat-penalty'], 'repeat-penalty', 1),
      seed: num(values.seed, 'seed', 0),
    };
    context = values.context === undefined ? undefined : num(values.context, 'context', 0);
  } catch (err) {
    process.stderr.write(`kpc-generate: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  let model;
  try {
    model = await openModel(values.model, context);
  } catch (err) {
    process.stderr.write(`kpc-generate: ${isKpcError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  }
  try {
    if (!model.info.trained && !values.json) process.stderr.write(`note: ${model.info.name} is a procedural model with untrained weights; its output is not language.\n`);
    const promptTokens = model.codec.encode(values.prompt!);
    const tokens: number[] = [];
    let text = '';
    if (!values.json) process.stdout.write(values.prompt!);
    for await (const t of model.generate(values.prompt!, opts)) {
      tokens.push(t.token);
      text += t.text;
      if (!values.json) process.stdout.write(t.text);
    }
    if (values.json) process.stdout.write(JSON.stringify({ promptTokens, tokens, text }) + '\n');
    else process.stdout.write('\n');
    return 0;
  } catch (err) {
    process.stderr.write(`kpc-generate: ${isKpcError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  }
}
