import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { withinMs } from '../ops/readiness.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { ADVISORY_LOCKS } from './locks.ts';
import * as schema from './schema.ts';
import { COURSE_CODES_SEED } from './seed.ts';

/** One repository type over both drivers: postgres.js (a server) and PGlite (embedded). */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/**
 * Readiness: one round trip, so /readyz fails while the database does not answer. Limited in time
 * like the Redis check: a load balancer needs its 503 while the database is away, not a hang.
 */
export function databaseAnswers(db: Db, timeoutMs = 1000): () => Promise<unknown> {
  return withinMs(timeoutMs, () => db.execute(sql`SELECT 1`));
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

export interface DatabaseOptions {
  /** postgres:// URL; when absent an embedded PGlite database lives under `dataDir`. */
  url?: string | undefined;
  dataDir: string;
  poolSize?: number;
  /**
   * Named prepared statements on PostgreSQL (the default). Off for PgBouncer in transaction
   * pooling, where a statement prepared on one server connection is missing on the next.
   */
  preparedStatements?: boolean;
  /** Who holds the DATA_DIR lock of the embedded database, as a second process is told (e.g. `role all`). */
  lockLabel?: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = options.url
    ? await openPostgres(options.url, options.poolSize ?? 10, options.preparedStatements ?? true)
    : await openPglite(options.dataDir, options.lockLabel ?? `pid ${process.pid}`);
  try {
    await migrate(database, options.url);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/**
 * How the pool meets a database that goes away (a restart, a failover, pg_terminate_backend).
 * postgres.js's default backoff grows 3^n/100 s per failed reconnect up to 20 s, and a query
 * handed to a connection waiting out that delay waits with it: measured against a restarted
 * cluster, requests hung 10-28 s and failed for 14 s after it was back. A short, jittered,
 * constant delay reconnects within half a second of the database answering, and while it does
 * not answer a query fails at once (ECONNREFUSED) or after `connect_timeout`, so a request gets
 * its 503 within a few seconds instead of hanging.
 */
const RECONNECT = {
  connect_timeout: 3,
  backoff: () => 0.1 + Math.random() * 0.4,
} as const;

async function openPostgres(url: string, max: number, prepare: boolean): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  // postgres.js's client-wide `prepare: false` wins over the per-query `prepare: true` in rows().
  // JIT off: every statement here is short, and PostgreSQL compiles one whose estimate is off (a table not yet
  // analyzed) for a third of a second, measured on a deadline burst's read.
  const client = postgres(url, { max, prepare, onnotice: () => {}, ...RECONNECT, connection: { jit: 'off' } });
  return {
    db: drizzle(client, { schema }) as unknown as Db,
    kind: 'postgres',
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string, lockLabel: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const onDisk = !dataDir.startsWith('memory://');
  if (onDisk) mkdirSync(dataDir, { recursive: true });
  const lock = onDisk ? lockDataDir(dataDir, lockLabel) : null;
  let client: Awaited<ReturnType<typeof PGlite.create>>;
  try {
    client = await PGlite.create(dataDir);
  } catch (error) {
    lock?.release();
    throw error;
  }
  return {
    db: drizzle(client, { schema }) as unknown as Db,
    kind: 'pglite',
    close: async () => {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * Applies drizzle-kit's migrations and seeds the courses. On a server, a session advisory lock on a
 * connection of its own keeps several starting processes from migrating at once.
 */
async function migrate(database: Database, url: string | undefined): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER };
  if (url === undefined) {
    const { migrate: run } = await import('drizzle-orm/pglite/migrator');
    await run(database.db as never, config);
  } else {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate: run } = await import('drizzle-orm/postgres-js/migrator');
    const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
    try {
      await client`SELECT pg_advisory_lock(${ADVISORY_LOCKS.migrations})`;
      await run(drizzle(client), config);
    } finally {
      await client.end({ timeout: 5 });
    }
  }
  await database.db.insert(schema.courses).values(COURSE_CODES_SEED).onConflictDoNothing();
}

/** What drizzle's sessions expose: the client (or transaction) of either driver and the SQL renderer. */
interface Driver {
  session?: {
    client?: {
      /** postgres.js */
      unsafe?: (text: string, params: unknown[], options: { prepare: boolean }) => Promise<unknown>;
      /** PGlite */
      query?: (text: string, params: unknown[], options: object) => Promise<{ rows: unknown[] }>;
    };
  };
  dialect: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
}

/** As drizzle's PGlite session reads raw rows: objects, with times left as the database's text. */
const asText = (value: string) => value;
const PGLITE_RAW = {
  rowMode: 'object',
  // timestamp, timestamptz, interval, date and their arrays, and numeric[]: drizzle's rawQueryConfig.
  parsers: Object.fromEntries([1114, 1184, 1186, 1082, 1115, 1185, 1187, 1182, 1231].map((oid) => [oid, asText])),
};

/** Rows of a raw query, whichever driver ran it (postgres.js answers an array, PGlite `{ rows }`). */
export async function rows<T>(db: Db, query: SQL): Promise<T[]> {
  const { sql: text, params } = (db as unknown as Driver).dialect.sqlToQuery(query);
  return rowsOfText<T>(db, text, params);
}

/**
 * Rows of a statement given as text with numbered placeholders (db/statement.ts), on the client or
 * transaction `db` runs on. postgres.js: a named prepared statement, cached per connection by its
 * text. drizzle's execute() sends an unnamed one, which postgres.js describes first: two round trips
 * and a fresh parse and plan on every call (measured by npm run bench: about a third of the time per
 * event). With prepared statements switched off (openDatabase), the client sends every query unnamed.
 */
export async function rowsOfText<T>(db: Db, text: string, params: unknown[]): Promise<T[]> {
  const client = (db as unknown as Driver).session?.client;
  if (typeof client?.unsafe === 'function') return (await client.unsafe(text, params, { prepare: true })) as T[];
  if (typeof client?.query === 'function') return (await client.query(text, params, PGLITE_RAW)).rows as T[];
  throw new Error('rowsOfText: the database handle has neither a postgres.js nor a PGlite client');
}

/**
 * Rows of one of drizzle's typed queries, sent through rows() so postgres.js prepares it like the
 * raw ones (drizzle's own execution sends unnamed statements). The row type is the builder's; it
 * holds as long as the selected keys are the columns' own names (this schema names keys so) and
 * no aggregate is selected (their numbers arrive as strings).
 */
export async function all<Q extends SQLWrapper & PromiseLike<unknown[]>>(db: Db, query: Q): Promise<Awaited<Q>> {
  return (await rows(db, query.getSQL())) as Awaited<Q>;
}
