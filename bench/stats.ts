/** What one run of one measurement produced. Latencies are in milliseconds. */
export interface Sample {
  ops: number;
  elapsedMs: number;
  latencies: number[];
  /** CPU time of this process (user + system) while the sample ran, where the generator measured it. */
  cpuMs?: number;
}

export type Summary = {
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
  cpu_us_per_op?: number;
};

/** Nearest-rank percentile; an empty list has none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

export function summarise(sample: Sample): Summary {
  return {
    ops_per_s: sample.elapsedMs > 0 ? (sample.ops * 1000) / sample.elapsedMs : 0,
    p50_ms: percentile(sample.latencies, 50),
    p99_ms: percentile(sample.latencies, 99),
    // The bench process holds the service and the load generator: its CPU per operation is our code's
    // cost (PostgreSQL's is in its own processes), and less shaken by a busy machine than ops/s.
    ...(sample.cpuMs !== undefined && sample.ops > 0 ? { cpu_us_per_op: (sample.cpuMs * 1000) / sample.ops } : {}),
  };
}

/** A run's figures: the summary and any figures of its own (a total time, an RSS). */
export type Figures = Summary & Record<string, number>;

/** The median of each figure over the rounds, taken figure by figure. */
export function medianFigures(runs: Figures[]): Figures {
  const keys = Object.keys(runs[0] ?? {});
  return Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]!))])) as Figures;
}

export function round(value: number, digits = 2): number | null {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
