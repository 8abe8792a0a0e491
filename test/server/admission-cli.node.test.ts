// `kpc-signal --admission-*`: admission from the command line. The proof-of-π
// verification is loaded from a JS module; here from src/pow through tsx
// (--pow-module), and from the default, the build output dist/node/pow.js, which this
// file builds itself (with rollup.config.mjs's own entry) so a fresh clone passes too.
import { before, describe, it } from 'node:test';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rollup, type RollupOptions, type OutputOptions } from 'rollup';
import { generateIdentity } from '../../src/crypto/index.js';
import { admitFrame, proofFor, readChallenge } from './admission-helpers.js';
import { TestClient, withTimeout } from './helpers.js';

const CLI = fileURLToPath(new URL('../../server/cli.mjs', import.meta.url));
const POW_SRC = fileURLToPath(new URL('../../src/pow/index.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds dist/node/pow.js exactly as `npm run build` does: the rollup.config.mjs entry
 * whose output is dist/node (its paths are relative to the repository root).
 */
async function buildPowDist(): Promise<void> {
  // A URL, not a literal specifier: rollup.config.mjs is not part of the type-checked program.
  const configUrl = new URL('../../rollup.config.mjs', import.meta.url).href;
  const configs = ((await import(configUrl)) as { default: RollupOptions[] }).default;
  const config = configs.find((c) => !Array.isArray(c.output) && c.output?.dir === 'dist/node');
  if (!config) throw new Error('rollup.config.mjs has no dist/node entry');
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const bundle = await rollup({ ...config, onwarn: () => {} });
    try {
      await bundle.write(config.output as OutputOptions);
    } finally {
      await bundle.close();
    }
  } finally {
    process.chdir(cwd);
  }
}

function run(args: string[], nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = withTimeout(
    new Promise<string>((resolve, reject) => {
      child.stdout.on('data', () => {
        const m = /listening on (ws:\/\/\S+)/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`cli exited early with ${code}: ${stderr}`)));
    }),
    'the listening line',
  );
  url.catch(() => {});
  return { child, exited, url, err: () => stderr };
}

async function admitsOneClient(url: string): Promise<void> {
  const c = await TestClient.connect(url);
  const { nonce, difficulty } = await readChallenge(c);
  expect(difficulty).to.equal(4);
  const me = generateIdentity();
  c.send(admitFrame(me, await proofFor(me, 'cli'), nonce, url));
  expect(await c.next()).to.include({ type: 'kpc-admitted', cluster: 'cli' });
  // --admission-cluster cli: another cluster is refused.
  const other = generateIdentity();
  c.send(admitFrame(other, await proofFor(other, 'not-cli'), nonce, url));
  expect(await c.next()).to.include({ type: 'error', code: 'admit-failed' });
  c.close();
}

describe('kpc-signal CLI: admission', () => {
  it('--admission-difficulty turns admission on (verification from --pow-module)', async () => {
    const p = run(['--port', '0', '--quiet', '--admission-difficulty', '4', '--admission-cluster', 'cli', '--pow-module', POW_SRC], ['--import', 'tsx']);
    await admitsOneClient(await p.url);
    p.child.kill('SIGTERM');
    expect(await withTimeout(p.exited, 'exit')).to.equal(0);
  });

  describe('with dist/node/pow.js built', () => {
    before(buildPowDist);

    it('loads dist/node/pow.js by default', async () => {
      const p = run(['--port', '0', '--quiet', '--admission-difficulty', '4', '--admission-cluster', 'cli']);
      await admitsOneClient(await p.url);
      p.child.kill('SIGTERM');
      expect(await withTimeout(p.exited, 'exit')).to.equal(0);
    });
  });

  it('exits 2 on bad admission flags', async () => {
    const cases: [string[], RegExp][] = [
      [['--admission-epoch-ms', '1000'], /needs --admission-difficulty/],
      [['--admission-difficulty', '65'], /at most 64/],
      [['--admission-difficulty', 'x'], /admission-difficulty/],
      [['--admission-difficulty', '4', '--admission-url', 'http://x'], /ws: or wss:/],
      [['--admission-difficulty', '4', '--pow-module', '/nonexistent/pow.js'], /npm run build/],
      // Flags are validated before the proof-of-π module is loaded: a bad flag reports
      // itself even when that module is missing (as dist/node/pow.js is before a build).
      [['--admission-difficulty', '4', '--admission-url', 'http://x', '--pow-module', '/nonexistent/pow.js'], /--admission-url must be a ws: or wss: URL/],
      [['--admission-difficulty', '4', '--admission-cluster', '', '--pow-module', '/nonexistent/pow.js'], /--admission-cluster must be 1\.\.128 characters/],
      [['--admission-difficulty', '4', '--admission-timeout-ms', '0', '--pow-module', '/nonexistent/pow.js'], /--admission-timeout-ms must be an integer >= 1/],
      [['--admission-difficulty', '4', '--port', '70000', '--pow-module', '/nonexistent/pow.js'], /port must be 0\.\.65535/],
      [['--admission-difficulty', '4', '--host', '', '--pow-module', '/nonexistent/pow.js'], /host must be a non-empty string/],
    ];
    for (const [args, why] of cases) {
      const p = run(['--port', '0', ...args]);
      expect(await withTimeout(p.exited, 'exit'), args.join(' ')).to.equal(2);
      expect(p.err(), args.join(' ')).to.match(why);
    }
  });
});
