import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { Hono } from 'hono';
import postgres from 'postgres';
import { type AuthEnv, authenticate, requireCaller, teacherId } from '../server/auth.ts';
import { InboundEnvelope } from '../machines/events.ts';
import { PostgresDataSource } from './dbos-datasource.ts';
import { DBOS_TABLES, type FlowInput, INBOUND_TOPIC, TOPIC, createDbosFlow, teacherMessage, waitApplied } from './dbos-flow.ts';
import { benchDatabaseUrl, dropDatabase, resetDatabase } from './database.ts';
import { type ClassFixture, type Decision, authorMatchesSuggested, contentProvisioned, freshEssays } from './events.ts';
import type { BatchCopy } from './fixtures.ts';
import { type HttpServerHandle, serveOnLoopback } from './hono-baseline.ts';
import type { MixTransport } from './mix.ts';
import type { Sample } from './stats.ts';

/**
 * DBOS Transact in the bench (issue 22 item 4): the flow of bench/dbos-flow.ts launched against a
 * system database of its own (created and dropped here, like the bench's own database), its
 * transactions on the bench database through the ported data source. The points built on it are
 * DBOS-A@8/e (in-process sends), DBOS-C@8/e (the same sends behind a Hono route with the service's
 * own authentication) and DBOS-T (N workflows parked in `recv` whose deadlines expire together).
 */

export interface DbosRig {
  /** Registered batches: workflows started and parked in `recv` for their content, by essays per batch. */
  pool(essays: number): DbosPool;
  transport: MixTransport;
  server: HttpServerHandle;
  burst(count: number): Promise<Sample & { totalMs: number; leadMs: number }>;
  /** Write transactions (xids), commits of both databases and WAL, for a figure per event. */
  counters(): Promise<DbCounters>;
  close(): Promise<void>;
}

export interface DbCounters {
  xids: number;
  commits: number;
  walBytes: number;
  walRecords: number;
  walSyncs: number;
}

/**
 * The roster as bench/fixtures.ts `createClasses` made it (class `index` of its list), handed to each
 * workflow as input: the service reads the same names from its students table.
 */
const STUDENT_NAMES = (cls: ClassFixture, index: number) =>
  Object.fromEntries(
    cls.studentIds.map((id, j) => [
      id,
      { first_name: `First${j}`, last_name: `Last${j}`, email: `s${j}.c${index}.${cls.classId.slice(0, 8)}@school.example` },
    ]),
  );

export class DbosPool {
  private ready: BatchCopy[] = [];
  private refilling: Promise<void> | null = null;
  private next = 0;

  constructor(
    private readonly start: (input: FlowInput) => Promise<void>,
    private readonly classes: ClassFixture[],
    private readonly concurrency: number,
  ) {}

  get size(): number {
    return this.ready.length;
  }

  /** Starts workflows until `count` wait registered; each is awaited until its registration committed. */
  async ensure(count: number): Promise<void> {
    const missing = count - this.ready.length;
    if (missing <= 0) return;
    let left = missing;
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, missing) }, async () => {
        while (left > 0) {
          left--;
          const index = this.next++ % this.classes.length;
          const cls = this.classes[index]!;
          const batchId = randomUUID();
          await this.start({
            batchId,
            cls,
            students: STUDENT_NAMES(cls, index),
            unknownStudentId: `unknown-${cls.classId}`,
            validationTimeoutMs: 86_400_000,
          });
          this.ready.push({ batchId, cls, essays: [], ids: { template: [], copy: [] } });
        }
      }),
    );
  }

  async take(): Promise<BatchCopy> {
    while (this.ready.length === 0) {
      this.refilling ??= this.ensure(200).finally(() => (this.refilling = null));
      await this.refilling;
    }
    return this.ready.pop()!;
  }
}

async function send(destination: string, message: { event_id: string }, topic: string): Promise<void> {
  const applied = waitApplied(message.event_id);
  await DBOS.send(destination, message, topic, message.event_id);
  await applied;
}

export async function startDbos(options: {
  adminUrl: string;
  benchDatabase: string;
  systemDatabase: string;
  classes: ClassFixture[];
  serviceToken: string;
  jwtSecret: string;
  prepare: boolean;
  clients: number;
  log: (message: string) => void;
}): Promise<DbosRig> {
  const appUrl = benchDatabaseUrl(options.adminUrl, options.benchDatabase);
  const systemUrl = benchDatabaseUrl(options.adminUrl, options.systemDatabase);
  await resetDatabase(options.adminUrl, options.systemDatabase);
  const admin = postgres(appUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(DBOS_TABLES);
  // The same pool size as the service's (10) for DBOS's transactions, and 10 for its system database.
  const ds = new PostgresDataSource('bench-app', appUrl, { max: 10, prepare: options.prepare, connection: { jit: 'off' } });
  const flow = createDbosFlow(ds);
  DBOS.setConfig({ name: 'huleedu-bench-dbos', systemDatabaseUrl: systemUrl, systemDatabasePoolSize: 10, logLevel: 'error' });
  const t0 = performance.now();
  await DBOS.launch();
  options.log(`DBOS ${options.systemDatabase}: launched in ${Math.round(performance.now() - t0)} ms`);

  const start = async (input: FlowInput) => {
    const registered = waitApplied(`registered:${input.batchId}`);
    await DBOS.startWorkflow(flow, { workflowID: input.batchId })(input);
    await registered;
  };
  const pools = new Map<number, DbosPool>();
  const transport: MixTransport = {
    async inbound(envelope) {
      const parsed = InboundEnvelope.parse(envelope);
      const topic = INBOUND_TOPIC[parsed.event_type];
      if (!topic) throw new Error(`DBOS flow takes no ${parsed.event_type}`);
      await send((parsed.data as { batch_id: string }).batch_id, parsed, topic);
    },
    async decide(cls, batchId, decisions) {
      await send(batchId, teacherMessage(cls.ownerId, decisions), TOPIC.teacher);
    },
  };

  // DBOS-C: the service's routes for these events, in front of DBOS.send, with the service's authentication.
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate({ serviceToken: options.serviceToken, jwtSecret: options.jwtSecret }));
  app.post('/v1/events', requireCaller('service'), async (c) => {
    const parsed = InboundEnvelope.safeParse(await c.req.json());
    if (!parsed.success) return c.json({ title: 'invalid event' }, 400);
    const topic = INBOUND_TOPIC[parsed.data.event_type];
    if (!topic) return c.json({ title: 'not taken' }, 422);
    await send((parsed.data.data as { batch_id: string }).batch_id, parsed.data, topic);
    return c.json({ outcome: 'applied', event_id: parsed.data.event_id });
  });
  app.post('/v1/batches/:batchId/student-associations/confirm', requireCaller('teacher'), async (c) => {
    const body = (await c.req.json()) as { associations: Decision[] };
    await send(c.req.param('batchId'), teacherMessage(teacherId(c), body.associations), TOPIC.teacher);
    return c.json({ results: body.associations.map((d) => ({ essay_id: d.essay_id, outcome: 'applied' })) });
  });
  const server = await serveOnLoopback(app.fetch);

  const stats = postgres(appUrl, { max: 1, onnotice: () => {} });
  const counters = async (): Promise<DbCounters> => {
    const [row] = await stats<Array<{ xids: string; commits: string; wal_bytes: string; wal_records: string; wal_syncs: string }>>`
      SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xids,
        (SELECT sum(xact_commit) FROM pg_stat_database WHERE datname IN (${options.benchDatabase}, ${options.systemDatabase})) AS commits,
        w.wal_bytes, w.wal_records, w.wal_sync AS wal_syncs FROM pg_stat_wal w`;
    return {
      xids: Number(row!.xids),
      commits: Number(row!.commits),
      walBytes: Number(row!.wal_bytes),
      walRecords: Number(row!.wal_records),
      walSyncs: Number(row!.wal_syncs),
    };
  };

  let burstRun = 0;
  const burst = async (count: number) => {
    burstRun++;
    // Every workflow must be parked in recv before the instant: 2 s plus 10 ms a workflow ahead; one parked later fails the point.
    const leadMs = 2_000 + count * 10;
    const dueAtMs = Date.now() + leadMs;
    const batches = Array.from({ length: count }, (_, i) => {
      const cls = options.classes[i % options.classes.length]!;
      const batchId = randomUUID();
      const essays = freshEssays(4);
      const input: FlowInput = {
        batchId,
        cls,
        students: STUDENT_NAMES(cls, i % options.classes.length),
        unknownStudentId: `unknown-${cls.classId}`,
        validationTimeoutMs: 86_400_000,
        burst: { content: contentProvisioned(batchId, cls, essays), suggestions: authorMatchesSuggested(batchId, cls, essays), dueAtMs },
      };
      return input;
    });
    const timedOut = batches.map((b) => waitApplied(`timeout:${b.batchId}`).then(() => Date.now() - dueAtMs));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < batches.length) {
          const input = batches[next++]!;
          const parked = waitApplied(`parked:${input.batchId}`);
          await DBOS.startWorkflow(flow, { workflowID: input.batchId })(input);
          await parked;
        }
      }),
    );
    const spare = dueAtMs - Date.now();
    if (spare < 0) throw new Error(`DBOS-T run ${burstRun}: the last of ${count} workflows parked ${-spare} ms after the deadlines`);
    const latencies = await Promise.all(timedOut);
    const totalMs = Math.max(...latencies);
    return { ops: count, elapsedMs: totalMs, latencies, totalMs, leadMs };
  };

  return {
    pool(essays) {
      let pool = pools.get(essays);
      if (!pool) pools.set(essays, (pool = new DbosPool(start, options.classes, options.clients)));
      return pool;
    },
    transport,
    server,
    burst,
    counters,
    async close() {
      await server.close();
      await DBOS.shutdown();
      await admin.end({ timeout: 5 });
      await stats.end({ timeout: 5 });
      await dropDatabase(options.adminUrl, options.systemDatabase);
    },
  };
}
