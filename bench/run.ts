import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { teacherToken } from '../server/auth.ts';
import { createService } from '../app/service.ts';
import { openDatabase } from '../db/client.ts';
import { createDeadlineTimers } from '../jobs/timers.ts';
import { createHttpApp } from '../server/app.ts';
import { type BenchConfig, loadBenchConfig } from './config.ts';
import { benchDatabaseUrl, deleteRedisPrefix, dropDatabase, resetDatabase } from './database.ts';
import { createClasses, makeTemplate, settleUnknownStudents } from './fixtures.ts';
import { serveOnLoopback, startHonoBaseline } from './hono-baseline.ts';
import { startDbos } from './dbos-points.ts';
import { startKafkaRig } from './kafka.ts';
import { startKafkaRelayRig } from './kafka-relay.ts';
import { memoryGrowth } from './memory.ts';
import { BatchPool } from './mix.ts';
import { definePoints } from './points.ts';
import { profiled } from './profile.ts';
import { startPgBoss } from './pgboss-baseline.ts';
import { createBaselineTables } from './postgres-baselines.ts';
import { type Capture, type CompiledEvent, captureMix, captureTimeout, compile, describeEvent } from './row-replay.ts';
import { humanTable, resultLines } from './report.ts';
import { type Figures, medianFigures, round, summarise } from './stats.ts';

const log = (message: string) => process.stderr.write(`${message}\n`);

async function bench(config: BenchConfig, closers: Array<() => Promise<unknown>>): Promise<Map<string, Figures>> {
  const url = benchDatabaseUrl(config.adminUrl, config.databaseName);
  const prepare = config.preparedStatements;
  const database = await openDatabase({ url, dataDir: 'memory://', poolSize: 10, preparedStatements: prepare });
  closers.push(() => database.close());
  // The baselines get the same driver settings as the project (JIT off, db/client.ts), so both sides pay for the switch.
  const sql = postgres(url, { max: 10, prepare, onnotice: () => {}, connection: { jit: 'off' } });
  closers.push(() => sql.end({ timeout: 5 }));
  const fixtureSql = postgres(url, { max: 2, prepare, onnotice: () => {} });
  closers.push(() => fixtureSql.end({ timeout: 5 }));

  const timers = createDeadlineTimers({ redisUrl: config.redisUrl, prefix: config.redisPrefix });
  closers.push(() => timers.close());
  let timerErrors = 0;
  const onTimerError = () => timerErrors++;
  const dayMs = 86_400_000;
  const service = createService({ db: database.db, validationTimeoutMs: dayMs, onDeadlineChange: timers.listener(onTimerError) });
  const sweepOnlyService = createService({ db: database.db, validationTimeoutMs: dayMs });
  const latenessService = createService({
    db: database.db,
    validationTimeoutMs: config.latenessTimeoutMs,
    onDeadlineChange: timers.listener(onTimerError),
  });

  const auth = { serviceToken: `svc_${randomBytes(16).toString('hex')}`, jwtSecret: randomBytes(32).toString('hex') };
  const server = await serveOnLoopback(createHttpApp(service, { auth }).fetch);
  closers.push(() => server.close());
  const honoBaseline = await startHonoBaseline(sql);
  closers.push(() => honoBaseline.close());

  log('fixtures: classes, template batches, baseline tables');
  const classes = await createClasses(service, 8, 30);
  const teacherTokens = new Map<string, string>();
  for (const c of classes) if (!teacherTokens.has(c.ownerId)) teacherTokens.set(c.ownerId, await teacherToken(auth.jwtSecret, c.ownerId));
  const templatesAt = (stage: Parameters<typeof makeTemplate>[2], essays: number) =>
    Promise.all(classes.map((c) => makeTemplate(service, c, stage, essays)));
  await settleUnknownStudents(service, classes, config.smallEssays);
  const pools = new Map<number, BatchPool>();
  const registered = new Map<number, Awaited<ReturnType<typeof templatesAt>>>();
  for (const essays of new Set([config.smallEssays, config.essaysPerBatch])) {
    registered.set(essays, await templatesAt('registered', essays));
    pools.set(essays, new BatchPool(fixtureSql, registered.get(essays)!));
  }
  // Deadline batches keep the small size, so T stays comparable with earlier runs and within budget.
  const waiting = {
    sql: fixtureSql,
    templates: await templatesAt('awaiting_teacher', config.smallEssays),
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
  };
  const provisioned = { ...waiting, templates: await templatesAt('provisioned', config.smallEssays) };
  // P-rows and P-burst: what the real service writes, read from the tables around one walk of the
  // mix at each size and one timeout, while nothing else runs (bench/row-replay.ts).
  log('rows: what the service writes per event, captured (+ inserted, ~ updated, - deleted)');
  const mixRows = new Map<number, { capture: Capture; events: CompiledEvent[]; pool: BatchPool }>();
  for (const [essays, templates] of registered) {
    const capture = await captureMix(fixtureSql, sweepOnlyService, templates[0]!, essays);
    mixRows.set(essays, { capture, events: compile(capture), pool: new BatchPool(fixtureSql, [templates[0]!]) });
    for (const event of capture.events) log(`  ${essays} essays, ${event.label}: ${describeEvent(event)}`);
  }
  const timeoutRows = await captureTimeout(fixtureSql, sweepOnlyService, waiting.templates[0]!);
  log(`  ${config.smallEssays} essays, a deadline in a burst: ${describeEvent(timeoutRows.events[0]!)}`);
  await createBaselineTables(sql, config.highClients);
  const pgBoss = await startPgBoss(url, sql, config.highClients, 10);
  closers.push(() => pgBoss.stop());
  // K is wanted only when its point runs; the mock cluster and the consumer group take seconds to start.
  const kafka =
    config.only === null || config.only.some((name) => name.startsWith('K@'))
      ? await startKafkaRig(service, config.highClients, log)
      : null;
  if (kafka) closers.push(() => kafka.close());
  // KR: the outbox relay to Kafka, on a mock cluster of its own; it fills the outbox at its first run.
  const kafkaRelay =
    config.only === null || config.only.includes('KR')
      ? await startKafkaRelayRig({
          sql,
          service: sweepOnlyService,
          pool: pools.get(config.essaysPerBatch)!,
          essays: config.essaysPerBatch,
          messages: config.relayRows,
          log,
        })
      : null;
  if (kafkaRelay) closers.push(() => kafkaRelay.close());
  // DBOS Transact beside the service (issue 22 item 4): its own system database next to the bench's.
  const dbos = config.dbos
    ? await startDbos({
        adminUrl: config.adminUrl,
        benchDatabase: config.databaseName,
        systemDatabase: `${config.databaseName}_dbos`,
        classes,
        ...auth,
        prepare,
        clients: config.highClients,
        log,
      })
    : null;
  if (dbos) closers.push(() => dbos.close());

  const results = new Map<string, Figures[]>();
  const record = (name: string, figures: Figures, tookMs: number) => {
    results.set(name, [...(results.get(name) ?? []), figures]);
    const extra =
      (figures.total_ms === undefined ? '' : `  total ${round(figures.total_ms, 0)} ms`) +
      (figures.cpu_us_per_op === undefined ? '' : `  cpu ${round(figures.cpu_us_per_op, 0)} µs/op`);
    log(
      `  ${name.padEnd(10)} ${round(figures.ops_per_s, 1)} ops/s  p50 ${round(figures.p50_ms)} ms  p99 ${round(figures.p99_ms)} ms${extra}` +
        `  (${round(tookMs / 1000, 1)} s)`,
    );
  };
  const points = definePoints({
    config,
    sql,
    service,
    sweepOnlyService,
    latenessService,
    timers,
    server,
    honoBaseline,
    serviceToken: auth.serviceToken,
    teacherTokens,
    pools,
    pgBoss,
    waiting,
    provisioned,
    rows: { mix: mixRows, timeout: timeoutRows },
    results,
    kafka,
    kafkaRelay,
    dbos,
  });

  log('warm-up: every throughput point once, briefly, unrecorded');
  const chosen = points.filter((p) => config.only === null || config.only.includes(p.name));
  for (const point of chosen.filter((p) => p.throughput)) await point.run(0, Math.min(500, config.durationMs));
  for (let r = 1; r <= config.rounds; r++) {
    const roundStart = performance.now();
    log(`round ${r}/${config.rounds}`);
    for (const point of chosen) {
      const t0 = performance.now();
      const figures = await profiled(config.cpuProfileDir, `${point.name}.r${r}`, () => point.run(r, config.durationMs));
      record(point.name, figures, performance.now() - t0);
    }
    // The whole run must stay within its budget (330 s by default) even on a busy machine:
    // rather than overrun, keep the rounds done so far (the median of fewer runs) and say so.
    const roundMs = performance.now() - roundStart;
    // M applies one CONTENT_PROVISIONED per batch over HTTP, measured at about C@8/30's rate per event.
    const cRate = results.get(`C@${config.highClients}/${config.essaysPerBatch}`)?.at(-1)?.ops_per_s ?? 100;
    const memoryMs = ((config.memoryWarmup + config.memoryBatches.at(-1)!) / cRate) * 1000;
    if (r < config.rounds && performance.now() - config.startedAt + roundMs + memoryMs > config.budgetMs) {
      log(`budget: stopping after ${r} of ${config.rounds} rounds; another would overrun ${config.budgetMs / 1000} s`);
      break;
    }
  }

  if (config.only !== null) return new Map([...results].map(([name, runs]) => [name, medianFigures(runs)]));
  log(`M: server RSS after events to ${config.memoryBatches.join(' and then ')} batches (after ${config.memoryWarmup} warm-up events)`);
  const t0 = performance.now();
  const memory = await memoryGrowth(
    url,
    pools.get(config.essaysPerBatch)!,
    config.memoryBatches,
    config.memoryWarmup,
    config.essaysPerBatch,
  );
  const [first, last] = [memory[0]!, memory.at(-1)!];
  const memoryFigures = (m: typeof first) => ({ ...summarise(m.sample), rss_mb: m.rssMb, batches: m.batches, warmup: config.memoryWarmup });
  record('M@first', memoryFigures(first), 0);
  record('M@last', memoryFigures(last), performance.now() - t0);
  if (timerErrors > 0) log(`note: ${timerErrors} after-commit timer calls failed (best effort; the sweep repairs them)`);
  return new Map([...results].map(([name, runs]) => [name, medianFigures(runs)]));
}

async function main(): Promise<number> {
  const config = loadBenchConfig();
  const started = config.startedAt;
  log(
    `bench: database ${config.databaseName}, redis prefix ${config.redisPrefix}, ${config.rounds} round(s) of ${config.durationMs} ms points, ` +
      `${config.burst} deadlines per burst, ${config.smallEssays} and ${config.essaysPerBatch} essays per batch, ` +
      `prepared statements ${config.preparedStatements ? 'on' : 'off'}`,
  );
  await resetDatabase(config.adminUrl, config.databaseName);
  await deleteRedisPrefix(config.redisUrl, config.redisPrefix);
  const closers: Array<() => Promise<unknown>> = [];
  let lines: string[] = [];
  let failed = false;
  try {
    const results = await bench(config, closers);
    // A partial run (BENCH_ONLY) is judged too, on the lines it has; tiny runs judge nothing.
    const report = resultLines(results, config, { judge: !config.tiny, partial: config.only !== null });
    log(`\n${humanTable(report, { judged: !config.tiny })}\n\nbench finished in ${round((performance.now() - started) / 1000, 1)} s`);
    lines = report.map((line) => JSON.stringify(line));
  } catch (error) {
    failed = true;
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    for (const close of closers.reverse()) await close().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    await deleteRedisPrefix(config.redisUrl, config.redisPrefix).catch((error: unknown) => log(`cleanup: ${String(error)}`));
    if (!config.keepDatabase)
      await dropDatabase(config.adminUrl, config.databaseName).catch((error: unknown) => log(`cleanup: ${String(error)}`));
  }
  // The JSON lines come last, after every log line, as contract section 7 asks.
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (error: unknown) => {
    log(`bench failed: ${String(error)}`);
    process.exit(1);
  },
);
