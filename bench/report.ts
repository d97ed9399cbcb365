import { type Figures, round } from './stats.ts';

/** One line of contract section 7, plus the figures a reader needs to judge it. */
export interface ResultLine {
  name: string;
  ops_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  ratio_to: string | null;
  ratio: number | null;
  [extra: string]: unknown;
}

interface LineSpec {
  name: string;
  /** Throughput is compared, project over baseline, unless `compare` says otherwise. */
  ratioTo?: string;
  compare?: (own: Figures, base: Figures) => number;
  target?: { text: string; met: (own: Figures, ratio: number | null) => boolean };
  extras?: (own: Figures) => Record<string, unknown>;
}

export const LINE_SPECS: LineSpec[] = [
  { name: 'P2@1' },
  { name: 'P2@8' },
  { name: 'P3@1', ratioTo: 'P2@1' },
  { name: 'P3@8', ratioTo: 'P2@8' },
  { name: 'H@1', ratioTo: 'P2@1' },
  { name: 'H@8', ratioTo: 'P2@8' },
  { name: 'A@1', ratioTo: 'P3@1' },
  { name: 'A@8', ratioTo: 'P3@8', target: { text: 'ratio >= 0.8', met: (_, r) => r !== null && r >= 0.8 } },
  { name: 'C@1', ratioTo: 'P3@1' },
  { name: 'C@8', ratioTo: 'P3@8', target: { text: 'ratio >= 0.5', met: (_, r) => r !== null && r >= 0.5 } },
  {
    name: 'C-half',
    ratioTo: 'C@8',
    target: { text: 'p99_ms < 20 at half of C@8 ops/s', met: (own) => own.p99_ms < 20 },
  },
  { name: 'Q', extras: (own) => ({ total_ms: round(own.total_ms!, 0), jobs: own.count }) },
  {
    name: 'T-bullmq',
    ratioTo: 'Q',
    target: { text: 'total_ms <= 5000 for 10000 deadlines', met: (own) => own.total_ms! <= 5000 },
    extras: (own) => ({ total_ms: round(own.total_ms!, 0), deadlines: own.count }),
  },
  { name: 'T-sweep', ratioTo: 'Q', extras: (own) => ({ total_ms: round(own.total_ms!, 0), deadlines: own.count }) },
  {
    name: 'T-lateness',
    target: { text: 'p99_ms < 1000 (lateness at a light steady rate)', met: (own) => own.p99_ms < 1000 },
    extras: (own) => ({ deadlines: own.count }),
  },
  { name: 'M@first', extras: (own) => ({ rss_mb: round(own.rss_mb!, 1), batches: own.batches, warmup_events: own.warmup }) },
  {
    name: 'M@last',
    ratioTo: 'M@first',
    compare: (own, base) => own.rss_mb! / base.rss_mb!,
    target: { text: 'ratio (RSS) within 1 +/- 0.10', met: (_, r) => r !== null && Math.abs(r - 1) <= 0.1 },
    extras: (own) => ({ rss_mb: round(own.rss_mb!, 1), batches: own.batches, warmup_events: own.warmup }),
  },
];

/** The memory lines are named after their batch counts, e.g. M@1000 and M@10000. */
function lineName(spec: LineSpec, results: Map<string, Figures>): string {
  if (!spec.name.startsWith('M@')) return spec.name;
  return `M@${results.get(spec.name)?.batches ?? '?'}`;
}

/** Tiny runs only prove the bench works; their figures judge nothing, so they carry no targets. */
export function resultLines(results: Map<string, Figures>, judge = true): ResultLine[] {
  return LINE_SPECS.map((spec) => {
    const own = results.get(spec.name);
    if (!own) throw new Error(`no result for ${spec.name}`);
    const base = spec.ratioTo ? results.get(spec.ratioTo) : undefined;
    if (spec.ratioTo && !base) throw new Error(`no result for ${spec.ratioTo}, the baseline of ${spec.name}`);
    const ratio = base ? (spec.compare ?? ((o, b) => o.ops_per_s / b.ops_per_s))(own, base) : null;
    const line: ResultLine = {
      name: lineName(spec, results),
      ops_per_s: round(own.ops_per_s, 1),
      p50_ms: round(own.p50_ms, 2),
      p99_ms: round(own.p99_ms, 2),
      ratio_to: spec.ratioTo ? lineName({ name: spec.ratioTo }, results) : null,
      ratio: ratio === null ? null : round(ratio, 3),
      ...spec.extras?.(own),
    };
    if (spec.target && judge) {
      line.target = spec.target.text;
      line.met = spec.target.met(own, ratio);
    }
    return line;
  });
}

export function humanTable(lines: ResultLine[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const rows = lines.map((l) => [
    l.name,
    cell(l.ops_per_s),
    cell(l.p50_ms),
    cell(l.p99_ms),
    l.ratio_to ? `${cell(l.ratio)} × ${l.ratio_to}` : '-',
    l.target ? `${l.met ? 'met' : 'MISSED'}: ${l.target}` : '',
  ]);
  const header = ['name', 'ops/s', 'p50 ms', 'p99 ms', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}
