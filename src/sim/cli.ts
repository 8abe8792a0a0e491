/**
 * `npm run simulate -- --nodes 200 --seed 7 [options]`: runs one deterministic
 * simulation, prints its summary on stdout (byte-identical for the same arguments)
 * and the wall time on stderr; exits 1 when an invariant failed, 2 on bad usage.
 *
 * Only `sim-crypto.ts` is imported statically: the signature scheme has to be chosen
 * before the core is loaded, so the simulator itself is imported afterwards.
 */
import { writeFileSync } from 'node:fs';
import { cryptoMode, useSimCrypto } from './sim-crypto.js';

const USAGE = `usage: npm run simulate -- [options]
  --nodes N              nodes (default 50)
  --seed S               seed, number or string (default 1)
  --duration T           virtual duration: 60s, 2m, 90000 (ms) (default 60s)
  --byzantine F          fraction of byzantine nodes, 0..1 (default 0)
  --byzantine-interval T mean time between attacks per byzantine node (default 1s)
  --attacks A,B          attack kinds to use (default all; see docs/simulator.md)
  --drop P               data-channel message loss probability (default 0)
  --duplicate P          duplicate delivery probability (default 0)
  --reorder P            out-of-order delivery probability (default 0)
  --latency MS           mean one-way link latency (default 50)
  --signaling-latency MS mean one-way latency to the signaling server (default 40)
  --partition            split the cluster in two for a while, then heal
  --partition-signaling  …and cut the minority side off signaling too
  --crash                crash ~10% of honest nodes, restart them later
  --crash-fraction F     fraction of honest nodes to crash (default 0.1)
  --clock-step           step ~10% of honest clocks by ±5..60 s
  --skew MS              per-node clock offset, uniform in ±MS (default 0)
  --signaling-outage     take a signaling server down for a while
  --servers N            signaling servers (default 1)
  --join T               nodes start within this window (default 2s)
  --writes N             workload: mean writes per honest node (default 3; see docs/simulator.md)
  --proposals N          workload: model-spec proposals from random honest nodes (default 3)
  --workload-until T     workload: writes and proposals stop at T (default 60% of the run)
  --no-workload          no writes or proposals (the state invariants then check little)
  --heartbeat T | --discovery T | --connect-timeout T | --min-peers N | --max-peers N
  --crypto sim|real      signature scheme: fast stand-in (default) or noble Ed25519
  --strict               also require every byzantine input to be rejected
  --trace FILE           write every event to FILE (slow; for debugging a seed)
  --json FILE            write the full report as JSON
  --progress             report virtual time, events and wall time on stderr every 10 virtual seconds
  --progress-every T     …every T of virtual time instead (implies --progress)
`;

/** Parses `60s`, `2m`, `1500ms`, `1500`. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`bad duration: ${v}`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

function parseArgs(argv: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (inline !== undefined) out.set(k, inline);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out.set(k, argv[++i]);
    else out.set(k, true);
  }
  return out;
}

async function main(): Promise<number> {
  let args: Map<string, string | true>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.has('help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const str = (k: string): string | undefined => {
    const v = args.get(k);
    if (v === true) throw new Error(`--${k} needs a value`);
    return v;
  };
  const num = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${k}: not a number: ${v}`);
    return n;
  };
  const dur = (k: string): number | undefined => (str(k) === undefined ? undefined : parseDuration(str(k)!));
  const flag = (k: string): boolean => args.get(k) === true || args.get(k) === 'true';

  const cryptoArg = str('crypto') ?? 'sim';
  if (cryptoArg !== 'sim' && cryptoArg !== 'real') {
    process.stderr.write(`--crypto must be sim or real\n`);
    return 2;
  }
  if (cryptoArg === 'sim') useSimCrypto();
  const { runSimulation, formatSummary } = await import('./report.js');
  const { DEFAULT_INVARIANTS, byzantineRejected } = await import('./invariants.js');
  const { ATTACKS } = await import('./byzantine.js');

  let config;
  try {
    config = {
      seed: str('seed') ?? '1',
      nodes: num('nodes') ?? 50,
      durationMs: dur('duration'),
      byzantine: num('byzantine'),
      byzantineIntervalMs: dur('byzantine-interval'),
      attacks: str('attacks')?.split(',').map((a) => {
        if (!(ATTACKS as readonly string[]).includes(a)) throw new Error(`unknown attack ${a}: use ${ATTACKS.join(', ')}`);
        return a as (typeof ATTACKS)[number];
      }),
      latencyMs: num('latency'),
      signalingLatencyMs: num('signaling-latency'),
      network: {
        ...(num('drop') !== undefined && { drop: num('drop')! }),
        ...(num('duplicate') !== undefined && { duplicate: num('duplicate')! }),
        ...(num('reorder') !== undefined && { reorder: num('reorder')! }),
      },
      partition: flag('partition') || flag('partition-signaling'),
      partitionSignaling: flag('partition-signaling'),
      crash: flag('crash'),
      crashFraction: num('crash-fraction'),
      clockStep: flag('clock-step'),
      skewMs: num('skew'),
      signalingOutage: flag('signaling-outage'),
      signalingServers: num('servers'),
      joinWindowMs: dur('join'),
      workload: flag('no-workload')
        ? false
        : { writesPerNode: num('writes'), proposals: num('proposals'), untilMs: dur('workload-until') },
      node: {
        ...(dur('heartbeat') !== undefined && { heartbeatMs: dur('heartbeat')! }),
        ...(dur('discovery') !== undefined && { discoveryWindowMs: dur('discovery')! }),
        ...(dur('connect-timeout') !== undefined && { connectTimeoutMs: dur('connect-timeout')! }),
        ...(num('min-peers') !== undefined && { minPeers: num('min-peers')! }),
        ...(num('max-peers') !== undefined && { maxPeers: num('max-peers')! }),
      },
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const traceFile = str('trace');
  const lines: string[] = [];
  const invariants = flag('strict') ? [...DEFAULT_INVARIANTS, byzantineRejected] : DEFAULT_INVARIANTS;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { report, sim } = await runSimulation(config, {
    invariants,
    setup: (s) => {
      if (traceFile) s.sched.trace = (line) => lines.push(line);
    },
    progress: flag('progress') || args.has('progress-every')
      ? (t, s) => {
          const every = dur('progress-every') ?? 10_000;
          if (t % every === 0 || t === s.cfg.durationMs) {
            process.stderr.write(`  ${(t / 1000).toFixed(0)}s virtual, ${s.sched.executed.toLocaleString('en-US')} events, ${((performance.now() - t0) / 1000).toFixed(1)}s wall\n`);
          }
        }
      : undefined,
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const argsLine = process.argv.slice(2).join(' ');
  process.stdout.write(formatSummary(report, `kpc simulate ${argsLine}  [crypto: ${cryptoMode()}]`));
  const rate = Math.round(sim.sched.executed / (wallMs / 1000));
  process.stderr.write(
    `wall time              ${(wallMs / 1000).toFixed(2)}s, cpu ${(cpuMs / 1000).toFixed(2)}s (${rate.toLocaleString('en-US')} events/s, virtual/wall ${(report.durationMs / wallMs).toFixed(2)}x)\n`,
  );
  if (traceFile) writeFileSync(traceFile, lines.join('\n') + '\n');
  const jsonFile = str('json');
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ ...report, wallMs }, null, 2));
  return report.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`simulate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
