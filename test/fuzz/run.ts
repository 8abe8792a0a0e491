/**
 * `npm run fuzz` — runs every fuzz target (test/fuzz/targets.ts) for `--cases`
 * cases each (default 100 000) and prints, per target: cases, time, rate, outcomes by
 * error code, the slowest case, and every violation with the command that replays it.
 * Exits 1 on any violation (an escape, an unknown code, a state change after a
 * rejection, an accepted forgery, a slow or hung case).
 *
 *   npm run fuzz                                    all targets, 100 000 cases each, random seed
 *   npm run fuzz -- --cases 5000 --target envelope,delta
 *   npm run fuzz -- --seed 1234 --target pow --case 4711    replay one case, print its input
 *   npm run fuzz -- --list
 *
 * Options: --cases N, --seed S, --target a,b, --case I, --jobs J (parallel targets,
 * default: number of CPUs, at most 4), --stall-ms MS (a case silent this long is a
 * hang; default 60000), --slow-ms MS (a case slower than this is a violation; default
 * 2000), --max-failures N (per target, default 10), --no-fork (run in this process).
 *
 * Each target runs in a child process that reports the index of every case before
 * running it, so a case that never returns is caught by the parent, killed, and
 * reported with its seed and index.
 */
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { replayCase, runTarget, type TargetReport } from './engine.js';
import { TARGETS, targetByName } from './targets.js';

interface Args {
  cases: number;
  seed: number;
  targets: string[];
  caseIndex?: number;
  jobs: number;
  stallMs: number;
  slowMs: number;
  maxFailures: number;
  fork: boolean;
  child: boolean;
  list: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    cases: 100_000,
    seed: (Date.now() ^ (process.pid << 16)) >>> 0,
    targets: TARGETS.map((t) => t.name),
    jobs: Math.max(1, Math.min(4, availableParallelism())),
    stallMs: 60_000,
    slowMs: 2000,
    maxFailures: 10,
    fork: true,
    child: false,
    list: false,
  };
  const num = (v: string | undefined, flag: string): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 0) {
      console.error(`${flag} needs a non-negative integer`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    switch (f) {
      case '--cases': a.cases = num(argv[++i], f); break;
      case '--seed': a.seed = num(argv[++i], f) >>> 0; break;
      case '--target': a.targets = (argv[++i] ?? '').split(',').filter(Boolean); break;
      case '--case': a.caseIndex = num(argv[++i], f); break;
      case '--jobs': a.jobs = Math.max(1, num(argv[++i], f)); break;
      case '--stall-ms': a.stallMs = num(argv[++i], f); break;
      case '--slow-ms': a.slowMs = num(argv[++i], f); break;
      case '--max-failures': a.maxFailures = Math.max(1, num(argv[++i], f)); break;
      case '--no-fork': a.fork = false; break;
      case '--child': a.child = true; break;
      case '--list': a.list = true; break;
      case '--help':
      case '-h':
        console.log('usage: npm run fuzz -- [--cases N] [--seed S] [--target a,b] [--case I] [--jobs J] [--stall-ms MS] [--slow-ms MS] [--max-failures N] [--no-fork] [--list]');
        process.exit(0);
        break;
      default:
        console.error(`unknown option ${f} (try --help)`);
        process.exit(2);
    }
  }
  for (const t of a.targets) {
    if (!targetByName(t)) {
      console.error(`unknown target ${t}; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
      process.exit(2);
    }
  }
  return a;
}

const repro = (name: string, seed: number, index: number) => `npm run fuzz -- --target ${name} --seed ${seed} --case ${index}`;

function printReport(r: TargetReport): void {
  const rate = r.ms > 0 ? (r.cases / (r.ms / 1000)).toFixed(0) : '-';
  const status = r.failures.length === 0 ? 'ok' : `${r.failures.length} VIOLATION(S)`;
  console.log(
    `${r.name.padEnd(16)} ${String(r.cases).padStart(7)} cases  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${rate.padStart(6)}/s  ` +
      `slowest #${r.slowest.index} ${r.slowest.ms.toFixed(1)} ms  setup ${(r.prepareMs / 1000).toFixed(1)} s  ${status}`,
  );
  const outcomes = Object.entries(r.outcomes).sort((x, y) => y[1] - x[1]);
  console.log(`    outcomes: ${outcomes.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const muts = Object.entries(r.mutations).sort((x, y) => y[1] - x[1]);
  console.log(`    inputs:   ${muts.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const f of r.failures) {
    console.log(`    VIOLATION case #${f.index} [${f.mutation}]: ${f.message.split('\n').slice(0, 6).join('\n      ')}`);
    console.log(`      replay: ${repro(r.name, r.seed, f.index)}`);
  }
}

/** writeSync to a pipe the parent drains: retried while the pipe is full (EAGAIN). */
function writeLine(line: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      writeSync(1, line);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

/** Child mode: run one target, report each case index, then the report as JSON. */
async function child(a: Args): Promise<void> {
  const target = targetByName(a.targets[0])!;
  const report = await runTarget(target, {
    cases: a.cases,
    seed: a.seed,
    slowMs: a.slowMs,
    maxFailures: a.maxFailures,
    onCase: (i) => writeLine(`P ${i}\n`),
  });
  writeLine(`R ${JSON.stringify(report)}\n`);
}

/** Runs one target in a child process, watching for hangs. */
function runChild(a: Args, name: string): Promise<TargetReport> {
  const script = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, script, '--child', '--target', name, '--cases', String(a.cases), '--seed', String(a.seed), '--slow-ms', String(a.slowMs), '--max-failures', String(a.maxFailures)];
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let current = -1;
    let lastProgress = Date.now();
    let report: TargetReport | undefined;
    let buf = '';
    let stderr = '';
    let hung = false;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('P ')) {
          current = Number(line.slice(2));
          lastProgress = Date.now();
        } else if (line.startsWith('R ')) {
          report = JSON.parse(line.slice(2)) as TargetReport;
        } else if (line) {
          process.stdout.write(`[${name}] ${line}\n`);
        }
      }
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > a.stallMs) {
        hung = true;
        proc.kill('SIGKILL');
      }
    }, 1000);
    proc.on('close', (code, signal) => {
      clearInterval(watchdog);
      if (report && !hung) return resolve(report);
      const message = hung
        ? `hang: case made no progress for ${a.stallMs} ms (killed)`
        : `crash: child exited with ${code ?? signal} during the case\n${stderr.trim()}`;
      resolve({
        name, seed: a.seed, cases: Math.max(0, current), ms: 0, prepareMs: 0, outcomes: {}, mutations: {}, slowest: { index: -1, ms: 0 },
        failures: [{ index: current, mutation: '?', message }],
      });
    });
  });
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.list) {
    for (const t of TARGETS) console.log(`${t.name.padEnd(16)} ${t.decoder}${t.sessionLength ? ` [stateful, ${t.sessionLength} cases per state]` : ''}`);
    return;
  }
  if (a.child) return child(a);
  if (a.caseIndex !== undefined) {
    if (a.targets.length !== 1) {
      console.error('--case needs exactly one --target');
      process.exit(2);
    }
    const t = targetByName(a.targets[0])!;
    const r = await replayCase(t, a.seed, a.caseIndex);
    console.log(`target ${t.name}, seed ${a.seed}, case #${a.caseIndex}`);
    console.log(`input: ${r.input.length > 4000 ? `${r.input.slice(0, 4000)}…` : r.input}`);
    if (r.violation) {
      console.log(`VIOLATION: ${r.violation}`);
      process.exitCode = 1;
    } else {
      console.log(`outcome: ${JSON.stringify(r.outcome)}`);
    }
    return;
  }
  console.log(`kpc fuzz: ${a.targets.length} target(s) × ${a.cases} cases, seed ${a.seed}, ${a.fork ? `${a.jobs} job(s)` : 'in-process'}`);
  const t0 = performance.now();
  const reports: TargetReport[] = [];
  if (!a.fork) {
    for (const name of a.targets) {
      const r = await runTarget(targetByName(name)!, { cases: a.cases, seed: a.seed, slowMs: a.slowMs, maxFailures: a.maxFailures });
      printReport(r);
      reports.push(r);
    }
  } else {
    const queue = [...a.targets];
    await Promise.all(
      Array.from({ length: Math.min(a.jobs, queue.length) }, async () => {
        for (let name = queue.shift(); name; name = queue.shift()) {
          const r = await runChild(a, name);
          printReport(r);
          reports.push(r);
        }
      }),
    );
  }
  const failures = reports.reduce((n, r) => n + r.failures.length, 0);
  const total = reports.reduce((n, r) => n + r.cases, 0);
  console.log(`\n${total} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s wall, seed ${a.seed}: ${failures === 0 ? 'no violations' : `${failures} VIOLATION(S)`}`);
  if (failures > 0) process.exitCode = 1;
}

await main();
