import { describe, it } from 'node:test';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestClient, withTimeout } from './helpers.js';

const CLI = fileURLToPath(new URL('../../server/cli.mjs', import.meta.url));

/** Runs the CLI, collecting its output; `exited` resolves with the exit code. */
function run(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

/** Waits for the listening line and returns the URL it names. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d) => {
        buf += String(d);
        const m = /kpc signaling server listening on (ws:\/\/\S+)/.exec(buf);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
    }),
    'the listening line',
  );
}

describe('kpc-signal CLI', () => {
  it('starts on a random port, relays, and exits cleanly on SIGTERM', async () => {
    const p = run(['--host', '127.0.0.1', '--port', '0', '--max-topics', '4', '--quiet']);
    const url = await listeningUrl(p.child);
    const port = Number(new URL(url).port);
    expect(port).to.be.greaterThan(0); // the actual port, not 0

    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect((await res.json()).status).to.equal('ok');

    const [a, b] = [await TestClient.connect(url), await TestClient.connect(url)];
    await a.subscribe('cli-room');
    await b.subscribe('cli-room');
    a.send({ type: 'publish', topic: 'cli-room', data: 'hi' });
    expect(await b.next()).to.deep.equal({ type: 'publish', topic: 'cli-room', data: 'hi', clients: 2 });
    // --max-topics reached the server.
    b.send({ type: 'subscribe', topics: ['1', '2', '3', '4'] });
    expect(await b.next()).to.include({ type: 'error', code: 'too-many-topics' });

    p.child.kill('SIGTERM');
    expect((await a.waitClosed()).code).to.equal(1001);
    expect((await b.waitClosed()).code).to.equal(1001);
    expect(await withTimeout(p.exited, 'exit')).to.equal(0);
    expect(p.err()).to.equal(''); // --quiet
  });

  it('exits cleanly on SIGINT', async () => {
    const p = run(['--port', '0', '--quiet']);
    await listeningUrl(p.child);
    p.child.kill('SIGINT');
    expect(await withTimeout(p.exited, 'exit')).to.equal(0);
  });

  it('prints usage for --help and exits 0', async () => {
    const p = run(['--help']);
    expect(await withTimeout(p.exited, 'exit')).to.equal(0);
    expect(p.out()).to.include('Usage: kpc-signal').and.include('--max-frame-bytes');
  });

  it('rejects unknown flags and bad numbers with exit code 2', async () => {
    for (const args of [['--bogus'], ['--port', 'abc'], ['--max-frame-bytes', '0']]) {
      const p = run(args);
      expect(await withTimeout(p.exited, 'exit'), args.join(' ')).to.equal(2);
      expect(p.err()).to.include('kpc-signal:');
    }
  });
});
