/**
 * assignByCapacity: contiguous, non-empty segments sized to the nodes' budgets; the cut is
 * the minimax one (checked against brute force over every cut vector), the fewer-groups
 * fallback and MODEL_DOES_NOT_FIT's `missing` match a reference written from the rules,
 * and the result does not depend on the order of the nodes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KpcError, isKpcError } from '../../src/errors.js';
import { rankMembers } from '../../src/infer/cluster/assignment.js';
import {
  assignByCapacity, describeAssignment, segmentBytes,
  type CapacityAssignment, type ModelFootprint, type NodeBudget,
} from '../../src/infer/cluster/capacity.js';

const KB = 1024;
const MIB = 1024 * 1024;
const MODEL = 'model-cap';

/** Every way to cut [0, L) into g non-empty contiguous parts, as cut vectors [c1 … c(g−1)], lexicographic order. */
function allCuts(L: number, g: number): number[][] {
  if (g === 1) return [[]];
  const out: number[][] = [];
  for (let c = 1; c <= L - (g - 1); c++) for (const rest of allCuts(L - c, g - 1)) out.push([c, ...rest.map((x) => x + c)]);
  return out;
}
const ranges = (L: number, cuts: number[]): Array<[number, number]> => {
  const pts = [0, ...cuts, L];
  return pts.slice(1).map((to, i) => [pts[i], to]);
};

/** The rules of capacity.ts, by brute force. */
function reference(fp: ModelFootprint, nodes: readonly NodeBudget[], r: number):
  { ok: true; segs: Array<{ from: number; to: number; holders: string[] }> } | { ok: false; missing: number; needed: number; available: number } {
  const budget = new Map<string, number>();
  for (const n of nodes) budget.set(n.id, Math.min(n.budget, budget.get(n.id) ?? n.budget));
  const L = fp.blockBytes.length;
  const seg = (a: number, b: number) => segmentBytes(fp, a, b, L);
  const minSeg = Math.min(...fp.blockBytes.map((_, b) => seg(b, b + 1)));
  const positive = [...budget].filter(([, b]) => b > 0);
  const usable = positive.filter(([, b]) => b >= minSeg).map(([id]) => id);
  const needed = r * seg(0, L);
  const available = positive.reduce((s, [, b]) => s + b, 0);
  if (usable.length < r) {
    const rth = positive.map(([, b]) => b).sort((a, b) => b - a)[r - 1];
    return { ok: false, needed, available, missing: Math.max(needed - available, minSeg - rth) };
  }
  const ranked = rankMembers(MODEL, 0, L, usable);
  const G = Math.min(L, Math.floor(ranked.length / r));
  const groups = Array.from({ length: G }, (_, k) => ranked.slice(k * r, k * r + r));
  const caps = groups.map((g) => Math.min(...g.map((id) => budget.get(id)!)));
  let leastOver = Infinity;
  for (let n = G; n >= 1; n--) {
    let best: { worst: number; cuts: number[] } | undefined;
    for (const cuts of allCuts(L, n)) {
      const rs = ranges(L, cuts);
      leastOver = Math.min(leastOver, Math.max(...rs.map(([a, b], g) => seg(a, b) - caps[g])));
      if (rs.some(([a, b], g) => seg(a, b) > caps[g])) continue;
      const worst = Math.max(...rs.map(([a, b], g) => seg(a, b) / caps[g]));
      if (!best || worst < best.worst) best = { worst, cuts }; // first found = lexicographically smallest
    }
    if (best) return { ok: true, segs: ranges(L, best.cuts).map(([from, to], g) => ({ from, to, holders: groups[g] })) };
  }
  return { ok: false, needed, available, missing: Math.max(needed - available, leastOver) };
}

const idArb = fc.integer({ min: 0, max: 0xffffff }).map((n) => n.toString(16).padStart(6, '0'));
const caseArb = (maxL: number, maxNodes: number) =>
  fc.record({
    fp: fc.record({
      blockBytes: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: maxL }),
      embedBytes: fc.integer({ min: 0, max: 2000 }),
      headBytes: fc.integer({ min: 0, max: 2000 }),
    }),
    nodes: fc.uniqueArray(fc.record({ id: idArb, budget: fc.oneof({ arbitrary: fc.constantFrom(0, -1, -500), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: 6000 }), weight: 5 }) }), {
      minLength: 1, maxLength: maxNodes, selector: (n) => n.id,
    }),
    r: fc.integer({ min: 1, max: 3 }),
  });

/** Runs assignByCapacity; errors other than the two expected codes fail the test. */
function run(fp: ModelFootprint, nodes: readonly NodeBudget[], r: number): CapacityAssignment[] | KpcError {
  try {
    return assignByCapacity(MODEL, fp, nodes, r);
  } catch (e) {
    assert.ok(isKpcError(e, 'MODEL_DOES_NOT_FIT') || isKpcError(e, 'INFER_NO_QUORUM'), String(e));
    return e as KpcError;
  }
}

describe('assignByCapacity', () => {
  const fp8: ModelFootprint = { blockBytes: Array(8).fill(390 * KB), embedBytes: MIB / 2, headBytes: MIB / 2 };
  const four = ['0a', '1b', '2c', '3d'];

  it('cuts 8 × 390 KB + 0.5 MiB embed + 0.5 MiB head over 4 equal nodes as [1, 3, 3, 1]', () => {
    const a = assignByCapacity(MODEL, fp8, four.map((id) => ({ id, budget: 2 * MIB })));
    assert.deepEqual(a.map((s) => [s.from, s.to]), [[0, 1], [1, 4], [4, 7], [7, 8]]);
    assert.deepEqual(a.map((s) => s.bytes), [MIB / 2 + 390 * KB, 3 * 390 * KB, 3 * 390 * KB, 390 * KB + MIB / 2]);
    assert.deepEqual(a.map((s) => s.holders[0]), rankMembers(MODEL, 0, 8, four));
    for (const s of a) {
      assert.deepEqual(s.ranking.slice(0, 1), s.holders);
      assert.deepEqual(s.ranking.slice(1), rankMembers(MODEL, s.from, s.to, four).filter((id) => id !== s.holders[0]));
    }
    const lines = describeAssignment(a).split('\n');
    assert.equal(lines.length, 4);
    assert.equal(lines[1], `[1,4) ${((3 * 390 * KB) / MIB).toFixed(2)} MiB ×1: ${a[1].holders[0]}`);
  });

  it('segmentBytes adds the embedding to the first segment and the head to the last', () => {
    const fp: ModelFootprint = { blockBytes: [1, 2, 4], embedBytes: 100, headBytes: 1000 };
    assert.equal(segmentBytes(fp, 0, 3, 3), 1107);
    assert.equal(segmentBytes(fp, 1, 2, 3), 2);
    assert.equal(segmentBytes(fp, 0, 1, 3), 101);
    assert.equal(segmentBytes(fp, 2, 3, 3), 1004);
    assert.throws(() => segmentBytes(fp, 2, 2, 3), (e) => isKpcError(e, 'INFER_BAD_INPUT'));
  });

  it('throws MODEL_DOES_NOT_FIT with missing = needed − available when the budgets sum is too small', () => {
    const fp: ModelFootprint = { blockBytes: Array(8).fill(30), embedBytes: 0, headBytes: 0 };
    assert.throws(() => assignByCapacity(MODEL, fp, [{ id: 'aa', budget: 100 }, { id: 'bb', budget: 100 }]), (e) => {
      assert.ok(isKpcError(e, 'MODEL_DOES_NOT_FIT'));
      assert.deepEqual(e.detail, { needed: 240, available: 200, missing: 40 });
      assert.match(e.message, /0\.00 MiB \(40 bytes\) missing; add nodes or raise their budgets/);
      return true;
    });
  });

  it('reports the worst group overflow as missing when it exceeds the total shortfall', () => {
    // 4 × 1 MiB hold 4 MiB; the model needs 4.05 MiB, but the best cut's 3-block group needs 1.14 MiB.
    assert.throws(() => assignByCapacity(MODEL, fp8, four.map((id) => ({ id, budget: MIB }))), (e) => {
      assert.ok(isKpcError(e, 'MODEL_DOES_NOT_FIT'));
      assert.deepEqual(e.detail, { needed: 8 * 390 * KB + MIB, available: 4 * MIB, missing: 3 * 390 * KB - MIB });
      assert.match(e.message, /0\.14 MiB \(149504 bytes\) missing/);
      return true;
    });
  });

  it('never lets a node with budget ≤ 0, or too small for any block, hold or stand by', () => {
    const nodes = [...four.map((id) => ({ id, budget: 2 * MIB })), { id: 'ee', budget: 0 }, { id: 'ff', budget: -5 }, { id: '99', budget: 100 * KB }];
    const a = assignByCapacity(MODEL, fp8, nodes);
    assert.deepEqual(a, assignByCapacity(MODEL, fp8, nodes.slice(0, 4)));
    for (const s of a) for (const id of ['ee', 'ff', '99']) assert.ok(!s.ranking.includes(id));
  });

  it('falls back to fewer, larger segments when a small node cannot hold the last one', () => {
    const fp: ModelFootprint = { blockBytes: [10, 10], embedBytes: 0, headBytes: 100 };
    // Pick two ids whose rendezvous order puts the small node second (it would have to hold the head).
    const ids = ['00', '01', '02', '03'];
    const pair = ids.flatMap((x) => ids.map((y) => [x, y])).find(([x, y]) => x !== y && rankMembers(MODEL, 0, 2, [x, y])[0] === x)!;
    const [big, small] = pair;
    const a = assignByCapacity(MODEL, fp, [{ id: small, budget: 50 }, { id: big, budget: 1000 }]);
    assert.deepEqual(a, [{ from: 0, to: 2, holders: [big], ranking: [big, small], bytes: 120 }]);
  });

  it('keeps the smallest budget of a repeated id and checks its inputs', () => {
    const fp: ModelFootprint = { blockBytes: [10], embedBytes: 0, headBytes: 0 };
    assert.throws(() => assignByCapacity(MODEL, fp, [{ id: 'aa', budget: 100 }, { id: 'aa', budget: 5 }]), (e) => isKpcError(e, 'MODEL_DOES_NOT_FIT'));
    assert.throws(() => assignByCapacity(MODEL, fp, [{ id: 'aa', budget: 100 }], 2), (e) => isKpcError(e, 'INFER_NO_QUORUM'));
    assert.throws(() => assignByCapacity(MODEL, fp, [{ id: 'aa', budget: 100 }], 0), (e) => isKpcError(e, 'INFER_BAD_INPUT'));
    assert.throws(() => assignByCapacity(MODEL, { ...fp, blockBytes: [] }, [{ id: 'aa', budget: 100 }]), (e) => isKpcError(e, 'INFER_BAD_INPUT'));
    assert.throws(() => assignByCapacity(MODEL, { ...fp, blockBytes: [1.5] }, [{ id: 'aa', budget: 100 }]), (e) => isKpcError(e, 'INFER_BAD_INPUT'));
    assert.throws(() => assignByCapacity(MODEL, fp, [{ id: 'aa', budget: NaN }]), (e) => isKpcError(e, 'INFER_BAD_INPUT'));
  });

  it('property: contiguous non-empty cover, budgets respected, r distinct holders, one segment per node, order-free', () => {
    fc.assert(
      fc.property(caseArb(24, 12), fc.nat(), ({ fp, nodes, r }, seed) => {
        const got = run(fp, nodes, r);
        const shuffled = [...nodes].sort((x, y) => ((x.id.charCodeAt(seed % 6) ^ seed) - (y.id.charCodeAt(seed % 6) ^ seed)) || (y.id < x.id ? -1 : 1));
        const again = run(fp, shuffled, r);
        if (got instanceof KpcError) {
          assert.ok(again instanceof KpcError && again.code === got.code);
          assert.deepEqual(again.detail, got.detail);
          return;
        }
        assert.deepEqual(again, got);
        const budget = new Map(nodes.map((n) => [n.id, n.budget]));
        const usable = nodes.filter((n) => n.budget > 0).map((n) => n.id);
        const L = fp.blockBytes.length;
        assert.equal(got[0].from, 0);
        assert.equal(got[got.length - 1].to, L);
        const seen = new Set<string>();
        got.forEach((s, i) => {
          assert.ok(s.to > s.from);
          if (i > 0) assert.equal(s.from, got[i - 1].to);
          assert.equal(s.bytes, segmentBytes(fp, s.from, s.to, L));
          assert.equal(s.holders.length, r);
          assert.equal(new Set(s.holders).size, r);
          for (const h of s.holders) {
            assert.ok(s.bytes <= budget.get(h)!, `${h} holds ${s.bytes} > ${budget.get(h)}`);
            assert.ok(!seen.has(h), `${h} holds two segments`);
            seen.add(h);
          }
          assert.deepEqual(s.ranking.slice(0, r), s.holders);
          assert.equal(new Set(s.ranking).size, s.ranking.length);
          for (const id of s.ranking) assert.ok(usable.includes(id));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('property: matches a brute-force reference (minimax cut, lexicographic ties, fewer groups, missing)', () => {
    fc.assert(
      fc.property(caseArb(7, 7), ({ fp, nodes, r }) => {
        const got = run(fp, nodes, r);
        if (nodes.filter((n) => n.budget > 0).length < r) {
          assert.ok(got instanceof KpcError && got.code === 'INFER_NO_QUORUM');
          return;
        }
        const want = reference(fp, nodes, r);
        if (!want.ok) {
          assert.ok(got instanceof KpcError && got.code === 'MODEL_DOES_NOT_FIT', 'expected MODEL_DOES_NOT_FIT');
          assert.deepEqual(got.detail, { needed: want.needed, available: want.available, missing: want.missing });
          assert.ok(want.missing > 0);
          return;
        }
        assert.ok(!(got instanceof KpcError), `unexpected ${String(got)}`);
        assert.deepEqual(got.map(({ from, to, holders }) => ({ from, to, holders })), want.segs);
      }),
      { numRuns: 1500 },
    );
  });

  it('property: with equal budgets and r = 1 the largest per-node bytes is the least over all cuts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 6 }),
        (blockBytes, embedBytes, headBytes, m) => {
          const fp = { blockBytes, embedBytes, headBytes };
          const L = blockBytes.length;
          const nodes = Array.from({ length: m }, (_, i) => ({ id: `c${i}`, budget: segmentBytes(fp, 0, L, L) }));
          const a = assignByCapacity(MODEL, fp, nodes);
          const G = Math.min(L, m);
          assert.equal(a.length, G);
          const least = Math.min(...allCuts(L, G).map((c) => Math.max(...ranges(L, c).map(([x, y]) => segmentBytes(fp, x, y, L)))));
          assert.equal(Math.max(...a.map((s) => s.bytes)), least);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles 256 blocks over 96 nodes with r = 2', () => {
    const fp: ModelFootprint = { blockBytes: Array.from({ length: 256 }, (_, i) => 1000 + (i % 7) * 10), embedBytes: 5_000, headBytes: 5_000 };
    const nodes = Array.from({ length: 96 }, (_, i) => ({ id: i.toString(16).padStart(4, '0'), budget: 20_000 + (i % 5) * 4_000 }));
    const a = assignByCapacity(MODEL, fp, nodes, 2);
    assert.equal(a[0].from, 0);
    assert.equal(a[a.length - 1].to, 256);
    const budget = new Map(nodes.map((n) => [n.id, n.budget]));
    for (const s of a) for (const h of s.holders) assert.ok(s.bytes <= budget.get(h)!);
  });
});
