import type postgres from 'postgres';
import type { Service } from '../app/service.ts';
import type { DeadlineTimers } from '../jobs/timers.ts';
import { bareQueueBurst } from './bullmq-baseline.ts';
import type { KafkaRig } from './kafka.ts';
import type { KafkaRelayRig } from './kafka-relay.ts';
import type { BenchConfig } from './config.ts';
import type { DbosRig } from './dbos-points.ts';
import { type DeadlineRig, burstWithBullmq, burstWithSweep, lightLoadLateness } from './deadlines.ts';
import type { HttpServerHandle } from './hono-baseline.ts';
import { httpClient } from './http-client.ts';
import { type Operation, closedLoop, fixedRate } from './load.ts';
import { type BatchPool, type DecisionStyle, directTransport, eventMix, eventsPerBatch, httpTransport } from './mix.ts';
import { type PgBossRig, pgBossBurst } from './pgboss-baseline.ts';
import { p2Operation, p3Operation, rowPicker } from './postgres-baselines.ts';
import { type Capture, type CompiledEvent, prepareBurst, rowsOperation } from './row-replay.ts';
import { type Figures, type Sample, summarise } from './stats.ts';

/** A measurement the rounds visit in turn; it returns one run's figures. */
export interface Point {
  name: string;
  /** A closed-loop throughput point, which the warm-up visits once. */
  throughput?: boolean;
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
  /** Registered batches for the mixes, by essays per batch (the small size and the class size). */
  pools: Map<number, BatchPool>;
  pgBoss: PgBossRig;
  waiting: DeadlineRig;
  provisioned: DeadlineRig;
  /**
   * P-rows and P-burst: the rows the real service wrote for one walk of the mix at each size and for
   * one timeout (bench/row-replay.ts), and pools of copies of the template each walk started from.
   */
  rows: { mix: Map<number, { capture: Capture; events: CompiledEvent[]; pool: BatchPool }>; timeout: Capture };
  /** Every run's figures so far, by measurement name. */
  results: Map<string, Figures[]>;
  /** The service's Kafka consumer on the mock cluster; null when it could not start (K is skipped). */
  kafka: KafkaRig | null;
  /** The outbox relay and a bare producer on a mock cluster of their own; null when it could not start (KR is skipped). */
  kafkaRelay: KafkaRelayRig | null;
  /** DBOS Transact running the same flow (bench/dbos-points.ts); null unless BENCH_DBOS=1 or BENCH_ONLY names a DBOS point. */
  dbos: DbosRig | null;
}

/** The sweep interval of the runtime without Redis (config.ts). */
const EMBEDDED_SWEEP_INTERVAL_MS = 1000;

const burstFigures = (r: Sample & { totalMs: number }): Figures => ({
  ...summarise(r),
  ops_per_s: (r.ops * 1000) / r.totalMs,
  total_ms: r.totalMs,
  count: r.ops,
});

/**
 * Where a mix point sends its events: the application layer (A) or HTTP (C, and D for one decision
 * a request); K sends C's service events through Kafka instead (decisions stay HTTP).
 */
type Kind = 'P2' | 'P3' | 'H' | 'P-rows' | 'A' | 'C' | 'D' | 'K' | 'DBOS-A' | 'DBOS-C';

interface ThroughputSpec {
  kind: Kind;
  clients: number;
  /** Essays per batch of a mix point; none for the baselines. */
  essays?: number;
}

export const throughputName = (t: ThroughputSpec) => `${t.kind}@${t.clients}${t.essays === undefined ? '' : `/${t.essays}`}`;

/** The throughput points of a round, low concurrency first, then 8 clients at both batch sizes. */
export function throughputSpecs(config: BenchConfig): ThroughputSpec[] {
  const { lowClients: low, highClients: high, smallEssays: small, essaysPerBatch: large } = config;
  return [
    ...(['P2', 'P3', 'H'] as const).map((kind) => ({ kind, clients: low })),
    { kind: 'A', clients: low, essays: large },
    { kind: 'C', clients: low, essays: large },
    ...(['P2', 'P3', 'H'] as const).map((kind) => ({ kind, clients: high })),
    // Each kind at both sizes back to back, so a change in the machine's other load between the two
    // (it is shared) skews their ratio as little as possible.
    // P-rows right before A at each size: A ÷ P-rows asks what our code adds, so those two run side by side.
    ...[small, large].flatMap((essays) => (['P-rows', 'A'] as const).map((kind) => ({ kind, clients: high, essays }))),
    ...(['C', 'D'] as const).flatMap((kind) => [small, large].map((essays) => ({ kind, clients: high, essays }))),
  ];
}

/** Every measurement, in the order a round visits them: throughput, then C-half, then bursts. */
export function definePoints(rig: Rig): Point[] {
  const { config } = rig;
  const picker = rowPicker(config.highClients);
  const p2 = p2Operation(rig.sql, picker);
  const p3 = p3Operation(rig.sql, config.highClients);
  const poolOf = (essays: number) => {
    const pool = rig.pools.get(essays);
    if (!pool) throw new Error(`bench: no batch pool of ${essays} essays`);
    return pool;
  };
  const large = poolOf(config.essaysPerBatch);
  const styleOf = (kind: Kind): DecisionStyle => (kind === 'D' ? 'one-per-request' : 'two-sittings');
  const rowsOf = (essays: number) => {
    const rows = rig.rows.mix.get(essays);
    if (!rows) throw new Error(`bench: no captured rows of ${essays} essays`);
    return rows;
  };

  /** Enough registered batches for a mix point, from the last rate seen, so copying stays out of the timing. */
  const stockFor = async (name: string, kind: Kind, essays: number, durationMs: number) => {
    const dbos = kind.startsWith('DBOS-');
    const rate = rig.results.get(name)?.at(-1)?.ops_per_s ?? (dbos ? 600 : 3000);
    const batches = (rate * 1.5 * durationMs) / 1000 / eventsPerBatch(styleOf(kind), essays);
    const pool = dbos ? rig.dbos!.pool(essays) : kind === 'P-rows' ? rowsOf(essays).pool : poolOf(essays);
    await pool.ensure(Math.ceil(batches) + 2 * config.highClients);
  };
  const overHttp = async (origin: string, connections: number, run: (client: ReturnType<typeof httpClient>) => Promise<Sample>) => {
    const client = httpClient(origin, connections);
    try {
      return await run(client);
    } finally {
      await client.close();
    }
  };
  const httpMix = (client: ReturnType<typeof httpClient>, essays: number, style: DecisionStyle) =>
    eventMix(poolOf(essays), httpTransport(client, rig.serviceToken, rig.teacherTokens), essays, style);
  const honoOp =
    (client: ReturnType<typeof httpClient>): Operation =>
    async (c) => {
      const { id, from, to } = picker(c);
      await client.post('/transition', { id, from, to }, null);
    };

  const throughput = (spec: ThroughputSpec): Point => {
    const name = throughputName(spec);
    const { kind, clients } = spec;
    const essays = spec.essays ?? 0;
    const measure = async (d: number): Promise<Sample> => {
      switch (kind) {
        case 'P2':
          return closedLoop(clients, d, p2);
        case 'P3':
          return closedLoop(clients, d, p3);
        case 'H':
          return overHttp(rig.honoBaseline.origin, clients, (client) => closedLoop(clients, d, honoOp(client)));
        case 'P-rows': {
          await stockFor(name, kind, essays, d);
          const { capture, events, pool } = rowsOf(essays);
          return closedLoop(clients, d, rowsOperation(rig.sql, capture, events, pool));
        }
        case 'A':
          await stockFor(name, kind, essays, d);
          return closedLoop(clients, d, eventMix(poolOf(essays), directTransport(rig.service), essays));
        case 'C':
        case 'D':
          await stockFor(name, kind, essays, d);
          return overHttp(rig.server.origin, clients, (client) => closedLoop(clients, d, httpMix(client, essays, styleOf(kind))));
        case 'DBOS-A':
          await stockFor(name, kind, essays, d);
          return closedLoop(clients, d, eventMix(rig.dbos!.pool(essays), rig.dbos!.transport, essays));
        case 'DBOS-C':
          await stockFor(name, kind, essays, d);
          return overHttp(rig.dbos!.server.origin, clients, (client) =>
            closedLoop(clients, d, eventMix(rig.dbos!.pool(essays), httpTransport(client, rig.serviceToken, rig.teacherTokens), essays)),
          );
        case 'K': {
          const kafka = rig.kafka!;
          await stockFor(name, kind, essays, d);
          return overHttp(rig.server.origin, clients, (client) => {
            const decide = httpTransport(client, rig.serviceToken, rig.teacherTokens).decide;
            return closedLoop(clients, d, eventMix(poolOf(essays), kafka.transport(decide), essays));
          });
        }
      }
    };
    // With DBOS in the run, A, C and DBOS's points count write transactions, commits and WAL per event in round 1.
    const counted = rig.dbos !== null && clients === config.highClients && ['A', 'C', 'DBOS-A', 'DBOS-C'].includes(kind);
    return {
      name,
      throughput: true,
      run: async (round, d) => {
        if (!counted || round !== 1) return summarise(await measure(d));
        // Stocked before the counters are read (measure's own stocking then finds enough), so they count the events alone.
        await stockFor(name, kind, essays, d);
        return countedRun(rig.dbos!, () => measure(d));
      },
    };
  };
  // DBOS's points right after the service's A and C at 8 clients, so each pair shares the machine's load.
  const specs = throughputSpecs(config).flatMap((s): ThroughputSpec[] =>
    rig.dbos && s.clients === config.highClients && (s.kind === 'A' || s.kind === 'C') ? [s, { ...s, kind: `DBOS-${s.kind}` }] : [s],
  );

  const fullC = throughputName({ kind: 'C', clients: config.highClients, essays: config.essaysPerBatch });
  return [
    ...specs.map(throughput),
    ...(rig.kafka
      ? [config.smallEssays, config.essaysPerBatch].map((essays) => throughput({ kind: 'K', clients: config.highClients, essays }))
      : []),
    ...(rig.kafkaRelay ? [kafkaRelayPoint(rig, rig.kafkaRelay)] : []),
    {
      name: 'C-half',
      async run(_round, d) {
        // Half of the maximum this round found at a real class size, open loop, so queueing shows in the p99.
        const rate = rig.results.get(fullC)!.at(-1)!.ops_per_s / 2;
        await large.ensure(Math.ceil((rate * d) / 1000 / eventsPerBatch('two-sittings', config.essaysPerBatch)) + 64);
        return summarise(
          await overHttp(rig.server.origin, 16, (client) => fixedRate(rate, d, 64, httpMix(client, config.essaysPerBatch, 'two-sittings'))),
        );
      },
    },
    {
      name: 'Q',
      run: async (r) => burstFigures(await bareQueueBurst(config.redisUrl, config.redisPrefix, config.burst, config.queueConcurrency, r)),
    },
    { name: 'PB', run: async (r) => burstFigures(await pgBossBurst(rig.pgBoss, config.burst, r)) },
    {
      name: 'P-burst',
      run: async () => burstFigures(await (await prepareBurst(rig.sql, rig.rows.timeout, config.burst)).run()),
    },
    { name: 'T-bullmq', run: async () => burstFigures(await burstWithBullmq(rig.waiting, rig.service, rig.timers, config.burst)) },
    {
      name: 'T-sweep',
      run: async () => burstFigures(await burstWithSweep(rig.waiting, rig.sweepOnlyService, config.burst, EMBEDDED_SWEEP_INTERVAL_MS)),
    },
    ...(rig.dbos ? [{ name: 'DBOS-T', run: async () => burstFigures(await rig.dbos!.burst(config.dbosBurst)) } satisfies Point] : []),
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

/**
 * KR measures its baseline in the same run, on the same messages (bench/kafka-relay.ts), and files
 * it as KR-bare itself, so `BENCH_ONLY=KR` reports the ratio too.
 */
function kafkaRelayPoint(rig: Rig, kafkaRelay: KafkaRelayRig): Point {
  return {
    name: 'KR',
    async run(round) {
      const { relay, bare } = await kafkaRelay.run(round);
      rig.results.set('KR-bare', [...(rig.results.get('KR-bare') ?? []), bare]);
      process.stderr.write(`  KR-bare    ${Math.round(bare.ops_per_s)} messages/s  total ${Math.round(bare.total_ms!)} ms\n`);
      return relay;
    },
  };
}

/**
 * A throughput run with the database's counters read around it: write transactions (xids), commits
 * in the bench's and DBOS's databases, WAL bytes, records and flushes, per event. Statistics reach
 * the views up to a second late, so the run waits that long before each reading.
 */
async function countedRun(dbos: DbosRig, measure: () => Promise<Sample>): Promise<Figures> {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));
  await settle();
  const before = await dbos.counters();
  const sample = await measure();
  await settle();
  const after = await dbos.counters();
  const per = (key: keyof typeof before) => (after[key] - before[key]) / sample.ops;
  return {
    ...summarise(sample),
    xids_per_event: per('xids'),
    commits_per_event: per('commits'),
    wal_bytes_per_event: per('walBytes'),
    wal_records_per_event: per('walRecords'),
    wal_syncs_per_event: per('walSyncs'),
  };
}
