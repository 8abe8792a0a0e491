/**
 * Fuzz targets of what a hosted model's nodes take from the network: the manifest file
 * (src/model/hosted/manifest.ts, fetched from the model's host) and the model reference
 * of a `model-ref` decision (src/node-models.ts, proposed by any member). Inputs are
 * valid ones mutated as text and as JSON values. Every outcome must be success or the
 * target's typed rejection; an accepted manifest must describe an ordered,
 * non-overlapping file and survive encode → parse unchanged; an accepted reference
 * must pass the check again unchanged.
 */
import { readFileSync } from 'node:fs';
import { encodeManifest, parseManifest, type ModelManifest } from '../../src/model/hosted/manifest.js';
import { checkHostedModelDecision } from '../../src/node-models.js';
import { LastInput, check, typed, type CaseOutcome, type FuzzTarget, type TargetInstance } from './engine.js';
import { mutateBytes } from './mutate.js';
import type { Rng } from './prng.js';

const MANIFEST_TEXT = readFileSync('models/kjv-llama-3m/model-q8_0.gguf.manifest.json', 'utf8');
const VALID_REF = {
  urls: ['https://host.example/m.gguf', '/models/m.gguf'], size: 3967136, modelId: 'ab'.repeat(32),
  manifest: { url: 'https://host.example/m.gguf.manifest.json', sha256: 'cd'.repeat(32) }, name: 'kjv', replicas: 2,
};

/** A JSON value with one part replaced by something hostile. */
function mutateJson(rng: Rng, value: unknown, depth = 0): unknown {
  const hostile = (): unknown => rng.pick([null, -1, 0, 1.5, 2 ** 53, -0, '', 'x'.repeat(3000), 'javascript:alert(1)', 'ftp://x/y', [], {}, true, '__proto__', 'AB'.repeat(32), Number.MAX_VALUE]);
  if (depth > 4 || typeof value !== 'object' || value === null || rng.chance(0.15)) return hostile();
  if (Array.isArray(value)) {
    const out = [...value];
    const op = rng.int(4);
    if (op === 0 && out.length > 0) out.splice(rng.int(out.length), 1);
    else if (op === 1 && out.length > 1) [out[0], out[out.length - 1]] = [out[out.length - 1], out[0]];
    else if (op === 2) out.push(out.length > 0 ? rng.pick(out) : hostile());
    else if (out.length > 0) {
      const i = rng.int(out.length);
      out[i] = mutateJson(rng, out[i], depth + 1);
    }
    return out;
  }
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(out);
  if (keys.length > 0 && rng.chance(0.2)) delete out[rng.pick(keys)];
  else if (rng.chance(0.1)) out[rng.pick(['extra', '__proto__', 'constructor'])] = hostile();
  else if (keys.length > 0) {
    const k = rng.pick(keys);
    out[k] = mutateJson(rng, out[k], depth + 1);
  }
  return out;
}

function checkManifest(m: ModelManifest): void {
  let end = m.header.length;
  for (const t of m.tensors) {
    check(t.offset >= end && t.offset + t.length <= m.size, `tensor ${t.name} overlaps or leaves the file`);
    end = t.offset + t.length;
  }
  check(JSON.stringify(parseManifest(encodeManifest(m))) === JSON.stringify(m), 'a manifest changed through encode and parse');
}

const manifest: FuzzTarget = {
  name: 'manifest',
  decoder: 'parseManifest (src/model/hosted/manifest.ts)',
  codes: ['MODEL_BAD_MANIFEST'],
  testCases: 2000,
  async prepare(): Promise<TargetInstance<unknown>> {
    const base = JSON.parse(MANIFEST_TEXT) as unknown;
    const bytes = new TextEncoder().encode(MANIFEST_TEXT);
    const last = new LastInput();
    return {
      last,
      newSession: () => undefined,
      runCase(rng): CaseOutcome {
        const kind = rng.weighted([[5, 'valid'], [55, 'json'], [40, 'bytes']] as const);
        let input: string | Uint8Array = MANIFEST_TEXT;
        let label: string = kind;
        if (kind === 'json') input = JSON.stringify(mutateJson(rng, base));
        if (kind === 'bytes') {
          const m = mutateBytes(rng, bytes);
          [input, label] = [m.value, `bytes:${m.label}`];
        }
        last.set(label, input);
        const r = typed(['MODEL_BAD_MANIFEST'], () => parseManifest(input));
        if (!r.ok) {
          check(kind !== 'valid', `the repo model's manifest was refused: ${r.error.message}`);
          return { outcome: r.code, mutation: label };
        }
        checkManifest(r.value);
        return { outcome: 'ok', mutation: label };
      },
    };
  },
};

const modelRef: FuzzTarget = {
  name: 'model-ref',
  decoder: 'checkHostedModelDecision (src/node-models.ts, src/model/hosted/model-ref.ts)',
  codes: ['MODEL_BAD_MANIFEST', 'CONSENSUS_REJECTED'],
  testCases: 2000,
  async prepare(): Promise<TargetInstance<unknown>> {
    const last = new LastInput();
    return {
      last,
      newSession: () => undefined,
      runCase(rng): CaseOutcome {
        const valid = rng.chance(0.05);
        const input = valid ? VALID_REF : mutateJson(rng, VALID_REF);
        last.set(valid ? 'valid' : 'json', input);
        const r = typed(['MODEL_BAD_MANIFEST', 'CONSENSUS_REJECTED'], () => checkHostedModelDecision(JSON.parse(JSON.stringify(input ?? null))));
        if (!r.ok) {
          check(!valid, `a valid reference was refused: ${r.error.message}`);
          return { outcome: r.code, mutation: 'json' };
        }
        check(JSON.stringify(checkHostedModelDecision(r.value)) === JSON.stringify(r.value), 'an accepted reference changed when checked again');
        check(r.value.urls.every((u) => typeof u === 'string' && u.length <= 2048), 'an accepted reference holds a bad URL');
        return { outcome: 'ok', mutation: valid ? 'valid' : 'json' };
      },
    };
  },
};

export const HOSTED_TARGETS: readonly FuzzTarget[] = [manifest, modelRef];
