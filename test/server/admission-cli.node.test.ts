// `kpc-signal --admission-*`: admission from the command line. The proof-of-π
// verification is loaded from a JS module; here from src/pow through tsx
// (--pow-module), and from the build output dist/node/pow.js when it has been built.
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateIdentity } from '../../src/crypto/index.js';
import { admitFrame, proofFor, readChallenge } from './admission-helpers.js';
import { TestClient, withTimeout } from './helpers.js';

const CLI = fileURLToPath(new URL('../../server/cli.mjs', import.meta.url));
const POW_SRC = fileURLToPath(new URL('../../src/pow/index.ts', import.meta.url));
const POW_DIST = fileURLToPath(new URL('../../dist/node/pow.js', import.meta.url));

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

  it('loads dist/node/pow.js by default', { skip: existsSync(POW_DIST) ? false : 'dist/node/pow.js not built (npm run build)' }, async () => {
    const p = run(['--port', '0', '--quiet', '--admission-difficulty', '4', '--admission-cluster', 'cli']);
    await admitsOneClient(await p.url);
    p.child.kill('SIGTERM');
    expect(await withTimeout(p.exited, 'exit')).to.equal(0);
  });

  it('exits 2 on bad admission flags', async () => {
    const cases: [string[], RegExp][] = [
      [['--admission-epoch-ms', '1000'], /needs --admission-difficulty/],
      [['--admission-difficulty', '65'], /at most 64/],
      [['--admission-difficulty', 'x'], /admission-difficulty/],
      [['--admission-difficulty', '4', '--admission-url', 'http://x'], /ws: or wss:/],
      [['--admission-difficulty', '4', '--pow-module', '/nonexistent/pow.js'], /npm run build/],
    ];
    for (const [args, why] of cases) {
      const p = run(['--port', '0', ...args]);
      expect(await withTimeout(p.exited, 'exit'), args.join(' ')).to.equal(2);
      expect(p.err(), args.join(' ')).to.match(why);
    }
  });
});
