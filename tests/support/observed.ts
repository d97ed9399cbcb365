import type { Queue } from 'bullmq';
import { createLogger } from '../../ops/logger.ts';
import { type Metrics, type MetricsSources, createMetrics } from '../../ops/metrics.ts';
import { observeApplications } from '../../ops/observe.ts';
import type { HttpOptions } from '../../server/app.ts';
import { operations } from '../../server/operations.ts';
import { type Harness, type HarnessOptions, startHarness } from './harness.ts';

/** A pino logger writing into memory: every line as written, and parsed. */
export function captureLogs(level = 'info') {
  const raw: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void raw.push(line) } });
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, any>) };
}

export interface Observed {
  h: Harness;
  metrics: Metrics;
  logs: ReturnType<typeof captureLogs>;
}

/** The harness wired as runtime.ts wires production: observer on the service, operations on HTTP. */
export async function startObservedHarness(
  options: HarnessOptions & {
    sources?: MetricsSources | ((h: () => Harness) => MetricsSources);
    dashboard?: { queues: Queue[]; readOnly?: boolean };
    httpExtra?: Omit<HttpOptions, 'auth' | 'operations'>;
    logLevel?: string;
  },
): Promise<Observed> {
  let harness: Harness | undefined;
  const sources = typeof options.sources === 'function' ? options.sources(() => harness!) : options.sources;
  const metrics = createMetrics(sources);
  const logs = captureLogs(options.logLevel);
  harness = await startHarness({
    ...options,
    onOutcome: observeApplications({ metrics, logger: logs.logger }),
    http: ({ serviceToken }) => ({
      ...options.httpExtra,
      operations: operations({
        logger: logs.logger,
        metrics,
        dashboard: options.dashboard ? { ...options.dashboard, serviceToken } : undefined,
      }),
    }),
  });
  return { h: harness, metrics, logs };
}

/** Samples of a Prometheus text exposition, as `name{labels}` → value. */
export function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`unparsable sample: ${line}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** The value of the one sample with this name whose labels include `labels`; 0 when there is none. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = samples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

/** Sum over every sample with this name whose labels include `labels`. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return samples(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export async function scrape(h: Harness): Promise<string> {
  const res = await h.api('GET', '/metrics', { token: null });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.body as string;
}
