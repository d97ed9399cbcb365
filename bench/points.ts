import type postgres from 'postgres';
import type { Service } from '../app/service.ts';
import type { DeadlineTimers } from '../jobs/timers.ts';
import { bareQueueBurst } from './bullmq-baseline.ts';
import type { BenchConfig } from './config.ts';
import { type DeadlineRig, burstWithBullmq, burstWithSweep, lightLoadLateness } from './deadlines.ts';
import type { HttpServerHandle } from './hono-baseline.ts';
import { httpClient } from './http-client.ts';
import { type Operation, closedLoop, fixedRate } from './load.ts';
import { type BatchPool, EVENTS_PER_BATCH, directTransport, eventMix, httpTransport } from './mix.ts';
import { p2Operation, p3Operation, rowPicker } from './postgres-baselines.ts';
import { type Figures, type Sample, summarise } from './stats.ts';

/** A measurement the rounds visit in turn; it returns one run's figures. */
export interface Point {
  name: string;
  /** `durationMs` bounds a throughput point; bursts and fixed-size runs ignore it. */
  run(round: number, durationMs: number): Promise<Figures>;
}

/** Everything the measurements run against, built once per bench run. */
export interface Rig {
  config: BenchConfig;
  /** postgres.js for the baselines, with the same pool size as the application's. */
  sql: postgres.Sql;
  /** As the runtime composes it with Redis: the after-commit listener schedules and cancels jobs. */
  service: Service;
  /** As in embedded mode: no timers, the sweep alone fires deadlines. */
  sweepOnlyService: Service;
  /** A short validation timeout, for lateness at a light rate. */
  latenessService: Service;
  timers: DeadlineTimers;
  server: HttpServerHandle;
  honoBaseline: HttpServerHandle;
  serviceToken: string;
  teacherTokens: Map<string, string>;
  pool: BatchPool;
  waiting: DeadlineRig;
  provisioned: DeadlineRig;
  /** Every run's figures so far, by measurement name. */
  results: Map<string, Figures[]>;
}

/** The sweep interval of the runtime without Redis (app/config.ts). */
const EMBEDDED_SWEEP_INTERVAL_MS = 1000;

const burstFigures = (r: Sample & { totalMs: number }): Figures => ({
  ...summarise(r),
  ops_per_s: (r.ops * 1000) / r.totalMs,
  total_ms: r.totalMs,
  count: r.ops,
});

export const THROUGHPUT_KINDS = ['P2', 'P3', 'H', 'A', 'C'] as const;
type Kind = (typeof THROUGHPUT_KINDS)[number];

/** Every measurement, in the order a round visits them: low concurrency, high, then the rest. */
export function definePoints(rig: Rig): Point[] {
  const { config, pool } = rig;
  const picker = rowPicker(config.highClients);
  const p2 = p2Operation(rig.sql, picker);
  const p3 = p3Operation(rig.sql, config.highClients);
  const a = eventMix(pool, directTransport(rig.service), config.essaysPerBatch);

  /** Enough registered batches for a mix point, from the last rate seen, so copying stays out of the timing. */
  const stockFor = async (name: string, durationMs: number) => {
    const rate = rig.results.get(name)?.at(-1)?.ops_per_s ?? 3000;
    await pool.ensure(Math.ceil((rate * 1.5 * durationMs) / 1000 / EVENTS_PER_BATCH) + 2 * config.highClients);
  };
  const overHttp = async (origin: string, connections: number, run: (client: ReturnType<typeof httpClient>) => Promise<Sample>) => {
    const client = httpClient(origin, connections);
    try {
      return await run(client);
    } finally {
      await client.close();
    }
  };
  const httpMix = (client: ReturnType<typeof httpClient>) =>
    eventMix(pool, httpTransport(client, rig.serviceToken, rig.teacherTokens), config.essaysPerBatch);
  const honoOp =
    (client: ReturnType<typeof httpClient>): Operation =>
    async (c) => {
      const { id, from, to } = picker(c);
      await client.post('/transition', { id, from, to }, null);
    };

  const throughput = (kind: Kind, clients: number): Point => {
    const name = `${kind}@${clients}`;
    const measure = async (d: number): Promise<Sample> => {
      switch (kind) {
        case 'P2':
          return closedLoop(clients, d, p2);
        case 'P3':
          return closedLoop(clients, d, p3);
        case 'H':
          return overHttp(rig.honoBaseline.origin, clients, (client) => closedLoop(clients, d, honoOp(client)));
        case 'A':
          await stockFor(name, d);
          return closedLoop(clients, d, a);
        case 'C':
          await stockFor(name, d);
          return overHttp(rig.server.origin, clients, (client) => closedLoop(clients, d, httpMix(client)));
      }
    };
    return { name, run: async (_round, d) => summarise(await measure(d)) };
  };

  return [
    ...THROUGHPUT_KINDS.map((k) => throughput(k, config.lowClients)),
    ...THROUGHPUT_KINDS.map((k) => throughput(k, config.highClients)),
    {
      name: 'C-half',
      async run(_round, d) {
        // Half of the maximum this round found, open loop, so queueing shows in the p99.
        const rate = rig.results.get(`C@${config.highClients}`)!.at(-1)!.ops_per_s / 2;
        await pool.ensure(Math.ceil((rate * d) / 1000 / EVENTS_PER_BATCH) + 64);
        return summarise(await overHttp(rig.server.origin, 16, (client) => fixedRate(rate, d, 64, httpMix(client))));
      },
    },
    {
      name: 'Q',
      run: async (r) => burstFigures(await bareQueueBurst(config.redisUrl, config.redisPrefix, config.burst, config.queueConcurrency, r)),
    },
    { name: 'T-bullmq', run: async () => burstFigures(await burstWithBullmq(rig.waiting, rig.service, rig.timers, config.burst)) },
    {
      name: 'T-sweep',
      run: async () => burstFigures(await burstWithSweep(rig.waiting, rig.sweepOnlyService, config.burst, EMBEDDED_SWEEP_INTERVAL_MS)),
    },
    {
      name: 'T-lateness',
      async run() {
        const sample = await lightLoadLateness(rig.provisioned, rig.latenessService, {
          ratePerS: config.latenessRatePerS,
          durationMs: config.latenessDurationMs,
        });
        return { ...summarise(sample), ops_per_s: config.latenessRatePerS, count: sample.ops };
      },
    },
  ];
}
