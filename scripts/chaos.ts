import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { teacherToken } from '../server/auth.ts';
import { type Integrity, type Query, settledIntegrity } from './chaos/checks.ts';
import { embeddedFaults } from './chaos/embedded.ts';
import { type Load, createChaosClass, startLoad } from './chaos/load.ts';
import { createPostgresCluster, freePort } from './chaos/postgres-cluster.ts';
import { type ServiceProcess, serviceProcess } from './chaos/processes.ts';
import { createRedisServer } from './chaos/redis-server.ts';
import { type ScorecardRow, printScorecard, writeScorecardToReadme } from './chaos/scorecard.ts';

/**
 * npm run chaos: PostgreSQL, Redis and process faults under a steady load of the real event mix,
 * against a PostgreSQL cluster and a Redis of the run's own (loopback ports, a temporary directory,
 * removed afterwards), N API processes and M workers. Every fault runs `--runs` times; the scorecard
 * goes to stdout and between the markers in README.md.
 */

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    outage: { type: 'string', default: '30' },
    apis: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    clients: { type: 'string', default: '6' },
    faults: { type: 'string', default: '' },
    'no-readme': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const OUTAGE_MS = Number(args.outage) * 1000;
const wanted = new Set(args.faults ? args.faults.split(',') : []);
const runs = (name: string) => wanted.size === 0 || wanted.has(name);
const VALIDATION_TIMEOUT_MS = 4000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

interface Fault {
  name: string;
  label: string;
  /**
   * Breaks something and brings it back. The clock for recovery starts at the time it answers (a
   * process's kill: its restart is part of the recovery), or else when it resolves (the database back).
   */
  inject(): Promise<number | void>;
}

/** Seconds until every API's /readyz answers 200 (bounded), from `since`. */
async function readyAgain(apis: ServiceProcess[], since: number, withinMs = 120_000): Promise<number> {
  for (const api of apis) {
    for (;;) {
      const ok = await fetch(`${api.base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() - since > withinMs) return Number.POSITIVE_INFINITY;
      await sleep(100);
    }
  }
  return (Date.now() - since) / 1000;
}

/** Seconds from `since` until a whole second's acknowledged answers reach half the baseline (bounded). */
async function throughputBack(load: Load, since: number, baseline: number, withinMs = 120_000): Promise<number> {
  for (;;) {
    const nowS = Math.floor((Date.now() - load.startedAt) / 1000);
    const fromS = Math.floor((since - load.startedAt) / 1000);
    for (let s = fromS; s < nowS; s++) {
      if ((load.answers.perSecond[s] ?? 0) >= baseline / 2) return Math.max(0, (load.startedAt + (s + 1) * 1000 - since) / 1000);
    }
    if (Date.now() - since > withinMs) return Number.POSITIVE_INFINITY;
    await sleep(250);
  }
}

/** Runs one fault `RUNS` times under one load, then checks what the database kept. */
export async function runFault(
  fault: Fault,
  load: Load,
  apis: ServiceProcess[],
  everyProcess: ServiceProcess[],
  integrity: () => Promise<Integrity>,
): Promise<ScorecardRow> {
  const exitsBefore = everyProcess.map((p) => p.unexpectedExits.length);
  const badBefore = load.answers.bad.length;
  const droppedBefore = load.answers.dropped;
  const ready: number[] = [];
  const back: number[] = [];
  let unavailable = 0;
  await sleep(4000);
  for (let run = 1; run <= RUNS; run++) {
    const nowS = Math.floor((Date.now() - load.startedAt) / 1000);
    const baseline = load.throughput(nowS - 3, nowS);
    const before503 = load.answers.unavailable;
    const backAt = (await fault.inject()) ?? Date.now();
    ready.push(await readyAgain(apis, backAt));
    back.push(await throughputBack(load, backAt, baseline));
    unavailable += load.answers.unavailable - before503;
    log(
      `${fault.name} run ${run}: ready after ${ready.at(-1)!.toFixed(1)} s, throughput back after ${back.at(-1)!.toFixed(1)} s (baseline ${baseline.toFixed(0)}/s)`,
    );
    await sleep(3000);
  }
  await load.stop();
  const kept = await integrity();
  return {
    fault: fault.label,
    runs: RUNS,
    ...kept,
    readyS: Math.max(...ready),
    throughputS: Math.max(...back),
    unavailable,
    bad: load.answers.bad.length - badBefore,
    badSamples: load.answers.bad.slice(badBefore, badBefore + 3),
    dropped: load.answers.dropped - droppedBefore,
    slowestS: load.answers.slowestMs / 1000,
    exits: everyProcess.reduce((n, p, i) => n + p.unexpectedExits.length - exitsBefore[i]!, 0),
    exitSamples: everyProcess.flatMap((p, i) => p.unexpectedExits.slice(exitsBefore[i])).slice(0, 2),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const rows: ScorecardRow[] = [];
  const jwtSecret = randomBytes(32).toString('hex');
  const serviceToken = `svc_${randomBytes(16).toString('hex')}`;
  const teacher = { sub: 'chaos-teacher', token: await teacherToken(jwtSecret, 'chaos-teacher') };

  log('creating a PostgreSQL cluster and a Redis of our own');
  const cluster = await createPostgresCluster();
  const redis = await createRedisServer(await freePort());
  const shared = {
    NODE_ENV: 'production',
    DATABASE_URL: cluster.url,
    REDIS_URL: redis.url,
    JWT_SECRET: jwtSecret,
    SERVICE_TOKEN: serviceToken,
    VALIDATION_TIMEOUT_MS: String(VALIDATION_TIMEOUT_MS),
    SWEEP_INTERVAL_MS: '1000',
    DATA_DIR: undefined,
  };
  const apis = await Promise.all(
    Array.from({ length: Number(args.apis) }, async (_, i) => serviceProcess(`api-${i + 1}`, { ...shared, ROLE: 'api' }, await freePort())),
  );
  const workers = Array.from({ length: Number(args.workers) }, (_, i) =>
    serviceProcess(`worker-${i + 1}`, { ...shared, ROLE: 'worker', LOG_LEVEL: 'info' }, null),
  );
  const everyProcess = [...apis, ...workers];
  const sql = postgres(cluster.url, { max: 2, onnotice: () => {}, backoff: () => 0.2 });
  const query: Query = (text, params) => sql.unsafe(text, params as never[]) as never;
  try {
    await apis[0]!.start(); // migrates first
    await Promise.all([...apis.slice(1), ...workers].map((p) => p.start()));
    log(`${apis.length} APIs and ${workers.length} workers up`);
    const cls = await createChaosClass(apis[0]!.base!, teacher.token, true);
    const newLoad = () =>
      startLoad({ apis: apis.map((a) => a.base!), serviceToken, teacher, cls, clients: Number(args.clients), essaysPerBatch: 4 });

    /** `what` stopped for OUTAGE_MS, then started again. */
    const downFor = (name: string, what: string, server: { stop(): Promise<void>; start(): Promise<void> }): Fault => ({
      name,
      label: `${what} down ${OUTAGE_MS / 1000} s`,
      inject: async () => {
        await server.stop();
        await sleep(OUTAGE_MS);
        await server.start();
      },
    });
    const faults: Fault[] = [
      { name: 'pg-restart', label: 'PostgreSQL fast restart', inject: () => cluster.restart() },
      {
        name: 'pg-terminate',
        label: 'pg_terminate_backend of every connection',
        inject: async () => void (await cluster.terminateBackends()),
      },
      downFor('pg-down', 'PostgreSQL', cluster),
      { name: 'redis-restart', label: 'Redis restarted (wiped)', inject: () => redis.restart() },
      downFor('redis-down', 'Redis', redis),
      {
        name: 'worker-kill',
        label: 'worker kill -9 mid deadline burst',
        inject: async () => {
          // Wait until deadlines are due (abandoned batches older than the timeout), then kill one worker.
          await sleep(VALIDATION_TIMEOUT_MS);
          const victim = workers[Math.floor(Math.random() * workers.length)]!;
          const killedAt = Date.now();
          await victim.kill();
          await victim.start();
          return killedAt;
        },
      },
      {
        name: 'api-kill',
        label: 'API kill -9 mid-request, restarted at once',
        inject: async () => {
          const victim = apis[Math.floor(Math.random() * apis.length)]!;
          const killedAt = Date.now();
          await victim.kill();
          await victim.start();
          return killedAt;
        },
      },
    ];
    for (const fault of faults.filter((f) => runs(f.name))) {
      log(`fault: ${fault.label}, ${RUNS} runs`);
      const load = newLoad();
      rows.push(await runFault(fault, load, apis, everyProcess, () => settledIntegrity(query, load.ledger, 120_000)));
      log(JSON.stringify(rows.at(-1)));
    }
  } finally {
    await Promise.all(everyProcess.map((p) => p.stop()));
    await sql.end({ timeout: 2 }).catch(() => {});
    await redis.stop();
    await cluster.remove();
  }
  rows.push(
    ...(await embeddedFaults({
      runs: RUNS,
      wanted: runs,
      jwtSecret,
      serviceToken,
      teacher,
      runFault,
      log,
      validationTimeoutMs: VALIDATION_TIMEOUT_MS,
    })),
  );

  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const about = `${RUNS} runs per fault, outages of ${OUTAGE_MS / 1000} s, ${args.apis} APIs, ${args.workers} workers, ${args.clients} clients; ${minutes} min on ${new Date().toISOString().slice(0, 10)}`;
  console.log(printScorecard(rows, about));
  if (!args['no-readme'] && wanted.size === 0) writeScorecardToReadme(rows, about);
  const failed = rows.some((r) => r.lost > 0 || r.doubled > 0 || r.deadlinesTwice > 0 || r.deadlinesNever > 0 || r.unpublished > 0);
  process.exitCode = failed ? 1 : 0;
}

await main();
