/**
 * `kpc-model`: tools for GGUF model files.
 *
 *   kpc-model info <file>                                   header, metadata and tensors
 *   kpc-model quantize <in.gguf> <out.gguf> --type Q4_K_M   quantize as llama-quantize does
 *   kpc-model manifest <file.gguf> [--out <path>]           per-tensor SHA-256 list for hosting
 */
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { isKpcError } from '../src/errors.js';
import { readGguf } from '../src/gguf/reader.js';
import { GgufType } from '../src/gguf/values.js';
import { writeGgufChunks } from '../src/gguf/writer.js';
import { FILE_TYPE_IDS, quantizeModel, type FileType } from '../src/model/quantize-model.js';
import { buildManifest, encodeManifest } from '../src/model/hosted/manifest.js';
import { writeFile } from 'node:fs/promises';
import { openFileSource } from './file-source.js';

const HELP = `Usage: kpc-model <command> [options]

Commands:
  info <file.gguf>                          print the header: version, metadata, tensors
  quantize <in.gguf> <out.gguf> --type <t>  write a quantized copy; <t> is one of
                                            ${Object.keys(FILE_TYPE_IDS).join(', ')}
                                            (llama-quantize's per-tensor rules; no imatrix)
  manifest <file.gguf> [--out <path>]      write the manifest a cluster checks every fetched
                                            tensor against (default <file.gguf>.manifest.json;
                                            host it beside the GGUF)
  --help                                    this text
`;

function fail(err: unknown): number {
  process.stderr.write(`kpc-model: ${isKpcError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
  return 1;
}

function showValue(v: { type: number; value: unknown }): string {
  if (v.type === GgufType.ARRAY) {
    const a = v.value as { items: ArrayLike<unknown> };
    const head = Array.from({ length: Math.min(4, a.items.length) }, (_, i) => JSON.stringify(String(a.items[i])));
    return `[${head.join(', ')}${a.items.length > 4 ? `, … ${a.items.length} items` : ''}]`;
  }
  return typeof v.value === 'string' ? JSON.stringify(v.value.length > 80 ? `${v.value.slice(0, 80)}…` : v.value) : String(v.value);
}

async function info(path: string): Promise<number> {
  const file = await readGguf(await openFileSource(path));
  const out: string[] = [`GGUF v${file.version}, ${file.size} bytes, ${file.metadata.size} metadata entries, ${file.tensors.length} tensors, alignment ${file.alignment}`];
  for (const [k, v] of file.metadata) out.push(`  ${k} = ${showValue(v)}`);
  const counts = new Map<string, number>();
  for (const t of file.tensors) {
    out.push(`  ${t.name.padEnd(28)} ${t.typeName.padEnd(5)} [${t.dims.join(', ')}] ${t.byteLength} bytes`);
    counts.set(t.typeName, (counts.get(t.typeName) ?? 0) + t.elements);
  }
  const weights = file.tensors.reduce((n, t) => n + t.elements, 0);
  out.push(`  ${weights} weights: ${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}; ${((file.size * 8) / weights).toFixed(2)} bits per weight (whole file)`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

async function quantize(input: string, output: string, type: string): Promise<number> {
  const ftype = type.toUpperCase() as FileType;
  if (!Object.hasOwn(FILE_TYPE_IDS, ftype)) {
    process.stderr.write(`kpc-model: --type must be one of ${Object.keys(FILE_TYPE_IDS).join(', ')}, got "${type}"\n`);
    return 2;
  }
  const file = await readGguf(await openFileSource(input));
  const { metadata, tensors } = await quantizeModel(file, ftype, (r) => {
    process.stderr.write(`  ${r.name.padEnd(28)} ${r.from.padEnd(5)} → ${r.to.padEnd(5)} ${r.bytes} bytes\n`);
  });
  // Written next to the target and renamed, so a failure never leaves half a file under its name.
  const tmp = `${output}.tmp`;
  const stream = createWriteStream(tmp);
  let size = 0;
  for (const chunk of writeGgufChunks({ metadata, tensors })) {
    size += chunk.byteLength;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  await rename(tmp, output);
  const weights = file.tensors.reduce((n, t) => n + t.elements, 0);
  process.stderr.write(`wrote ${output}: ${size} bytes, ${((size * 8) / weights).toFixed(2)} bits per weight\n`);
  return 0;
}

async function manifest(path: string, out: string | undefined): Promise<number> {
  const m = await buildManifest(await openFileSource(path));
  const target = out ?? `${path}.manifest.json`;
  await writeFile(target, encodeManifest(m));
  process.stdout.write(`${target}: ${m.tensors.length} tensors, header ${m.header.sha256.slice(0, 16)}…\n`);
  return 0;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { type: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`kpc-model: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || command === undefined) {
    (values.help ? process.stdout : process.stderr).write(HELP);
    return values.help ? 0 : 2;
  }
  try {
    if (command === 'info' && args.length === 1) return await info(args[0]);
    if (command === 'quantize' && args.length === 2 && values.type) return await quantize(args[0], args[1], values.type);
    if (command === 'manifest' && args.length === 1) return await manifest(args[0], values.out);
  } catch (err) {
    return fail(err);
  }
  process.stderr.write(`kpc-model: bad arguments for "${command}"\n${HELP}`);
  return 2;
}
