/** One figure of bench/results.json: `{"name": {"value": n, "unit": "ms", "spec": n}}`. */
export interface BenchFigure {
  value: number;
  unit: string;
  /** The spec's (§9) or the target, where there is one. */
  spec?: number;
  /** Our own, stricter target from the issue, where there is one. */
  goal?: number;
}

export type BenchResults = Record<string, BenchFigure>;
