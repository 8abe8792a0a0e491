// Whole-cluster simulations: determinism, convergence, and every fault family against the invariants.
// The fast signature stand-in must be chosen before the core loads, hence the dynamic imports.
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { useSimCrypto } from '../../src/sim/sim-crypto.js';

useSimCrypto();
const { runSimulation, formatSummary, replayCommand } = await import('../../src/sim/report.js');
const { SimCluster } = await import('../../src/sim/cluster.js');
const { DEFAULT_INVARIANTS, byzantineRejected } = await import('../../src/sim/invariants.js');
const { ATTACKS } = await import('../../src/sim/byzantine.js');
const { cryptoMode } = await import('../../src/sim/sim-crypto.js');
type Config = import('../../src/sim/cluster.js').SimConfig;
type Report = import('../../src/sim/report.js').SimReport;

/** Fails with the command that replays the run and its whole summary (which names the seed). */
function expectOk(report: Report, cfg: Config, what: string): void {
  if (!report.ok) throw new Error(`${what} failed — replay: ${replayCommand(cfg)}\n${formatSummary(report)}`);
}

const base: Omit<Config, 'seed'> = { nodes: 30, durationMs: 60_000 };

describe('sim: determinism', () => {
  it('replays a seed exactly (same trace digest and summary), and another seed differs', async () => {
    expect(cryptoMode()).to.equal('sim');
    const cfg: Config = { ...base, seed: 11, nodes: 20, durationMs: 30_000, byzantine: 0.1, crash: true, network: { drop: 0.01, duplicate: 0.01 }, workload: true };
    const a = (await runSimulation(cfg)).report;
    const b = (await runSimulation(cfg)).report;
    expect(a.events).to.be.greaterThan(1_000);
    expect(a.state.writes.acked).to.be.greaterThan(20);
    expect(b.traceDigest).to.equal(a.traceDigest);
    expect(formatSummary(b)).to.equal(formatSummary(a));
    expect(b.state).to.deep.equal(a.state);
    const c = (await runSimulation({ ...cfg, seed: 12 })).report;
    expect(c.traceDigest).to.not.equal(a.traceDigest);
  });

  it('does not depend on how the run is sliced', async () => {
    const cfg: Config = { seed: 'slices', nodes: 10, durationMs: 12_500, crash: true };
    const runs: string[] = [];
    for (const sliceMs of [1_000, 333, 12_500]) {
      const sim = new SimCluster(cfg);
      await sim.run({ sliceMs });
      runs.push(`${sim.sched.executed} ${sim.sched.digest.hex()}`);
    }
    expect(runs[1]).to.equal(runs[0]);
    expect(runs[2]).to.equal(runs[0]);
  });

  it('prints a byte-identical summary from the CLI for the same arguments', () => {
    const run = () =>
      spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/node-hooks.mjs', 'src/sim/cli.ts', '--nodes', '8', '--seed', '5', '--duration', '10s', '--drop', '0.01'], {
        encoding: 'utf8',
      });
    const [a, b] = [run(), run()];
    expect(a.status, a.stderr).to.equal(0);
    expect(a.stdout).to.include('trace digest').and.include('[crypto: sim]').and.include('result                 OK');
    expect(b.stdout).to.equal(a.stdout);
    expect(a.stderr).to.match(/wall time/);
  });
});

describe('sim: a healthy cluster', () => {
  it('brings 50 nodes to all-READY, every one with ≥ 3 peers', async () => {
    const cfg: Config = { seed: 7, nodes: 50, durationMs: 60_000 };
    const { report, sim } = await runSimulation(cfg);
    expectOk(report, cfg, '50 nodes');
    expect(report.firstAllReadyMs).to.be.a('number');
    for (const n of sim.nodes) expect(n.pi!.peers.length, `#${n.index}`).to.be.at.least(3);
    expect(report.linkMsgsPerNode.mean).to.be.greaterThan(0);
    expect(report.rejections).to.deep.equal({});
  });

  it('runs extra invariants and names the seed in their failures', async () => {
    const seen: number[] = [];
    const { report } = await runSimulation(
      { ...base, seed: 'custom', nodes: 6, durationMs: 10_000 },
      { invariants: [...DEFAULT_INVARIANTS, { name: 'always-fails', check: (sim) => (seen.push(sim.nodes.length), [{ message: 'no' }]) }] },
    );
    expect(seen).to.deep.equal([6]);
    expect(report.ok).to.equal(false);
    const failed = report.invariants.find((i) => i.name === 'always-fails')!;
    expect(failed.failures[0]).to.include({ invariant: 'always-fails', seed: 'custom', message: 'no' });
    expect(formatSummary(report)).to.include('replay with --seed custom');
  });
});

describe('sim: faults', () => {
  // Every other fault kind runs with the workload in state.node.test.ts. Clock steps (±5–60 s) are mesh-only:
  // beyond 30 s a node's signaling is refused and beyond 60 s its deltas (by design), so no state is checked here.
  it('recovers from clock skew and clock steps (no workload)', async () => {
    const cfg: Config = { ...base, seed: 'fault:clock skew and clock steps', skewMs: 30_000, clockStep: true };
    const { report } = await runSimulation(cfg);
    expectOk(report, cfg, 'clock steps');
  });

  it('contains byzantine nodes: forged, malformed and wrong-cluster input is rejected and costs no honest link', async () => {
    const attacks = ATTACKS.filter((a) => a !== 'sig-replay');
    const cfg: Config = { ...base, seed: 'byzantine', byzantine: 0.2, byzantineIntervalMs: 300, attacks };
    const { report } = await runSimulation(cfg, { invariants: [...DEFAULT_INVARIANTS, byzantineRejected] });
    expectOk(report, cfg, 'byzantine');
    expect(Object.keys(report.attacks.launched).sort()).to.deep.equal([...attacks].sort());
    expect(report.attacks.rejected).to.be.greaterThan(100);
    for (const code of ['PROTO_BAD_SIGNATURE', 'PROTO_BAD_MAC', 'PROTO_MALFORMED', 'PROTO_BAD_BODY', 'PROTO_WRONG_SENDER', 'MESH_WRONG_TOPIC', 'MESH_SIGNAL_UNKNOWN_PEER']) {
      expect(report.rejections[code] ?? 0, code).to.be.greaterThan(0);
    }
  });

  it('notices replayed envelopes an honest node acts on (strict invariant)', async () => {
    const { report } = await runSimulation(
      { ...base, seed: 'replay', byzantine: 0.2, byzantineIntervalMs: 200, attacks: ['sig-replay', 'link-replay'] },
      { invariants: [...DEFAULT_INVARIANTS, byzantineRejected] },
    );
    const strict = report.invariants.find((i) => i.name === 'byzantine-rejected')!;
    // Whatever the mesh does with replays, the report must account for every delivery and name the seed on failure.
    const b = report.attacks;
    expect(b.rejected + b.ignored + b.accepted).to.be.greaterThan(0);
    expect(strict.ok).to.equal(b.accepted === 0);
    if (!strict.ok) expect(strict.failures[0].seed).to.equal('replay');
    // Overheard signaling envelopes replayed on a link are signed, not tagged with its key.
    expect(report.rejections.PROTO_BAD_MAC ?? 0).to.be.greaterThan(0);
  });
});
