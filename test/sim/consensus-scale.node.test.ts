// Consensus past a full mesh: once every node has heard every other's announce, the
// member lists agree across a partial mesh, so decisions commit; past 96 members a
// committee (the 96 that weigh most with the cluster id) votes, and every node applies.
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { useSimCrypto } from '../../src/sim/sim-crypto.js';

useSimCrypto();
const { runSimulation, formatSummary } = await import('../../src/sim/report.js');
const { MODEL_PRESETS } = await import('../../src/infer/index.js');
const { DEFAULT_INVARIANTS } = await import('../../src/sim/invariants.js');
// byzantine-powerless checks commits against the seeded workload's proposals; these are the test's own.
const INVARIANTS = DEFAULT_INVARIANTS.filter((i) => i.name !== 'byzantine-powerless');
type Sim = import('../../src/sim/cluster.js').SimCluster;
type Node = { nodeId: string; decisions: readonly { slot: number }[]; propose(kind: string, payload: unknown): Promise<{ slot: number }> };

/** Two proposals from committee members, after the join wave's announces have reached everyone. */
async function run(nodes: number, seed: string) {
  const outcomes: string[] = [];
  const { report, sim } = await runSimulation({ seed, nodes, durationMs: 56_000, workload: false }, {
    invariants: INVARIANTS,
    setup(sim: Sim) {
      for (const at of [40_000, 50_000]) {
        sim.sched.after(at, () => {
          const pis = sim.nodes.map((n) => n.pi as unknown as Node);
          const members = (pis[0] as unknown as { readyMembers(): string[] }).readyMembers();
          const proposer = pis.find((p, i) => i >= at / 10_000 && members.includes(p.nodeId))!;
          proposer.propose('model-spec', { ...MODEL_PRESETS['kpc-tiny'], seed: at }).then(
            (d) => outcomes.push(`slot ${d.slot}`),
            (e: { code?: string }) => outcomes.push(String(e.code)),
          );
        }, 0, 'test:propose');
      }
    },
  });
  return { report, outcomes, views: sim.nodes.map((n) => (n.pi as unknown as { readyMembers(): string[] }).readyMembers().join()), decisions: sim.nodes.map((n) => (n.pi as unknown as Node).decisions.length) };
}

describe('sim: consensus in a partial mesh', () => {
  const cases: [number, string][] = [
    [30, '30 nodes: every node has the same member list, and both proposals commit everywhere'],
    [100, '100 nodes: a committee of 96 votes, all 100 apply the decisions'],
  ];
  for (const [nodes, title] of cases) {
    it(title, async () => {
      const { report, outcomes, views, decisions } = await run(nodes, `consensus:${nodes}`);
      expect(report.ok, formatSummary(report)).to.equal(true);
      expect(new Set(views).size).to.equal(1);
      expect(views[0].split(',')).to.have.length(Math.min(96, nodes));
      expect(outcomes).to.deep.equal(['slot 0', 'slot 1']);
      expect(decisions.every((d) => d === 2)).to.equal(true);
    });
  }
});
