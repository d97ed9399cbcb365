import { performance } from 'node:perf_hooks';

/**
 * The bench's sizes, read once from the environment. `BENCH_SCALE=tiny` shrinks every size so the
 * smoke test can run the whole bench in seconds; single variables override either scale.
 */
export interface BenchConfig {
  adminUrl: string;
  redisUrl: string;
  /** The database the bench creates, resets and drops; never the one in DATABASE_URL. */
  databaseName: string;
  keepDatabase: boolean;
  /** BullMQ key prefix of every queue the bench makes; its keys are deleted before and after. */
  redisPrefix: string;
  tiny: boolean;
  rounds: number;
  /** Length of one throughput point in one round. */
  durationMs: number;
  lowClients: number;
  highClients: number;
  /** Essays per batch of a real class: the second size of the mixes, memory (M) and C-half. */
  essaysPerBatch: number;
  /** The small batch size of the mixes, and of the deadline batches (T) as in earlier runs. */
  smallEssays: number;
  /** Named prepared statements in the project's and the baselines' postgres.js clients. */
  preparedStatements: boolean;
  /** Deadlines due at one instant (T), and no-op jobs due at one instant (Q). */
  burst: number;
  latenessRatePerS: number;
  latenessDurationMs: number;
  latenessTimeoutMs: number;
  /** RSS readings after this many batches; the first and the last make the M lines. */
  memoryBatches: number[];
  /** Events applied before the first memory reading, so JIT and pools have settled. */
  memoryWarmup: number;
  /** Outbox rows the relay drains to Kafka per run of KR (and its bare producer sends). */
  relayRows: number;
  /** Worker concurrency of the bare BullMQ baseline; the project's worker keeps its own default. */
  queueConcurrency: number;
  /**
   * BENCH_ONLY: run just these points (comma-separated names, e.g. C@8/30), no memory run, and
   * report only their lines (judged where a line's figures were measured): for profiling. Points that need another's result (C-half
   * needs C@8) must be listed after it.
   */
  only: string[] | null;
  /** BENCH_CPU_PROFILE_DIR: write a CPU profile of each measured run there (bench/profile.ts). */
  cpuProfileDir: string | undefined;
  /**
   * BENCH_DBOS=1, or a DBOS point named in BENCH_ONLY: run DBOS Transact's points (bench/dbos-points.ts)
   * beside A, C and the bursts. Off by default: they add about two minutes to a full run.
   */
  dbos: boolean;
  /** BENCH_DBOS_DEADLINES: DBOS workflows whose `recv` deadlines expire together (DBOS-T). */
  dbosBurst: number;
  /** When the run started (performance.now()), and how long it may take in all. */
  startedAt: number;
  budgetMs: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

function safeName(raw: string, name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) throw new Error(`${name} must be a lowercase SQL identifier, got ${raw}`);
  return raw;
}

/** The service's own switch (config.ts), so one variable runs the bench either way. */
function preparedStatements(env: NodeJS.ProcessEnv): boolean {
  const raw = env.DATABASE_PREPARED_STATEMENTS;
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`DATABASE_PREPARED_STATEMENTS must be on or off, got ${raw}`);
}

export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const tiny = env.BENCH_SCALE === 'tiny';
  if (env.BENCH_SCALE !== undefined && env.BENCH_SCALE !== '' && !tiny && env.BENCH_SCALE !== 'full') {
    throw new Error(`BENCH_SCALE must be full or tiny, got ${env.BENCH_SCALE}`);
  }
  const prefix = env.BENCH_REDIS_PREFIX ?? 'huleedu-bench';
  if (!/^[\w-]+$/.test(prefix)) throw new Error(`BENCH_REDIS_PREFIX may hold only letters, digits, _ and -, got ${prefix}`);
  const burst = int(env, 'BENCH_DEADLINES', tiny ? 60 : 10_000);
  const only = env.BENCH_ONLY ? env.BENCH_ONLY.split(',').map((name) => name.trim()) : null;
  return {
    adminUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    databaseName: safeName(env.BENCH_DATABASE ?? 'huleedu_bench', 'BENCH_DATABASE'),
    keepDatabase: env.BENCH_KEEP_DATABASE === '1',
    redisPrefix: prefix,
    tiny,
    rounds: int(env, 'BENCH_ROUNDS', tiny ? 1 : 3),
    durationMs: int(env, 'BENCH_DURATION_MS', tiny ? 250 : 2_500),
    lowClients: 1,
    highClients: 8,
    essaysPerBatch: int(env, 'BENCH_ESSAYS', 30),
    smallEssays: int(env, 'BENCH_SMALL_ESSAYS', 4),
    preparedStatements: preparedStatements(env),
    burst,
    latenessRatePerS: int(env, 'BENCH_LATENESS_RATE', tiny ? 20 : 10),
    latenessDurationMs: int(env, 'BENCH_LATENESS_MS', tiny ? 300 : 4_000),
    latenessTimeoutMs: int(env, 'BENCH_LATENESS_TIMEOUT_MS', tiny ? 100 : 500),
    memoryBatches: tiny ? [20, 60] : [1_000, 5_000, 10_000],
    // V8 sizes its heap over the first several thousand requests (here RSS climbs to ~10 000 events,
    // then stays flat to 40 000), so the readings start after that.
    memoryWarmup: tiny ? 20 : 10_000,
    queueConcurrency: 16,
    relayRows: int(env, 'BENCH_RELAY_ROWS', tiny ? 300 : 10_000),
    only,
    dbos: env.BENCH_DBOS === '1' || (only?.some((name) => name.startsWith('DBOS-')) ?? false),
    dbosBurst: int(env, 'BENCH_DBOS_DEADLINES', tiny ? 20 : 2_000),
    cpuProfileDir: env.BENCH_CPU_PROFILE_DIR || undefined,
    startedAt: performance.now(),
    budgetMs: int(env, 'BENCH_BUDGET_S', 330) * 1000,
  };
}
