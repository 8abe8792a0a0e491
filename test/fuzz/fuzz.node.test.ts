/**
 * Every decoder of test/fuzz/targets.ts, fed its target's `testCases` random and
 * mutated inputs (about 1–2 k each, ~15 s in all): each outcome must be a success or
 * a typed rejection with a known code, never another exception, a hang, an accepted
 * forgery, or (stateful targets) a state change after a rejection.
 *
 * `npm run fuzz` runs the same targets with 100 000 cases each. The seed here is fixed
 * so CI is reproducible; set KPC_FUZZ_SEED (and KPC_FUZZ_CASES) to explore further.
 */
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { runTarget } from './engine.js';
import { TARGETS } from './targets.js';

const SEED = Number(process.env.KPC_FUZZ_SEED ?? 20_261_126) >>> 0;
const CASES = process.env.KPC_FUZZ_CASES ? Number(process.env.KPC_FUZZ_CASES) : undefined;

describe('fuzzing every decoder (npm run fuzz runs 100 000 cases each)', () => {
  for (const target of TARGETS) {
    const cases = CASES ?? target.testCases;
    it(`${target.name}: ${cases} cases of ${target.decoder}`, { timeout: 120_000 }, async () => {
      const report = await runTarget(target, { cases, seed: SEED });
      const lines = report.failures.map(
        (f) => `case #${f.index} [${f.mutation}]: ${f.message}\n  replay: npm run fuzz -- --target ${target.name} --seed ${SEED} --case ${f.index}`,
      );
      expect(lines, lines.join('\n')).to.deep.equal([]);
      expect(report.cases).to.equal(cases);
      // The generators must reach both sides: some inputs accepted, some refused.
      const outcomes = Object.keys(report.outcomes);
      expect(outcomes.some((o) => o.startsWith('ok') || /^[a-z]/.test(o)), `no input was accepted: ${outcomes.join(', ')}`).to.equal(true);
      expect(outcomes.some((o) => /^[A-Z_]+$/.test(o) || /^(bad|oversize|unknown|topic|too)-/.test(o)), `no input was refused: ${outcomes.join(', ')}`).to.equal(true);
    });
  }
});
