import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { DEFAULT_SCHOOL_CALENDAR } from '../../app/deadline-policy.ts';
import { type ServiceDeps, createService } from '../../app/service.ts';
import { teacherToken } from '../../server/auth.ts';
import { type Database, type DatabaseOptions, databaseAnswers, openDatabase } from '../../db/client.ts';
import { type HttpOptions, createHttpApp } from '../../server/app.ts';
import { createInternalApp } from '../../server/internal-app.ts';
import { createTestDatabase } from './db.ts';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Harness {
  database: Database;
  /** The PostgreSQL URL of this harness's own database (undefined on PGlite). */
  url: string | undefined;
  service: ReturnType<typeof createService>;
  /** The Hono app itself, for tests that serve it over a real socket (tests/support/served.ts). */
  app: ReturnType<typeof createHttpApp>;
  /** The internal listener's app (the doors other HuleEdu services call without credentials). */
  internalApp: ReturnType<typeof createInternalApp>;
  serviceToken: string;
  jwtSecret: string;
  teacher(sub: string): Promise<string>;
  /** A request to the internal listener: no bearer token, the gateway's headers (X-User-ID, ...) as given. */
  internalApi<T = any>(
    method: string,
    path: string,
    init?: { body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  api<T = any>(
    method: string,
    path: string,
    init?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<Omit<ServiceDeps, 'db'>> {
  /** Embedded PGlite in memory instead of a PostgreSQL database of the file's own. */
  pglite?: boolean;
  label: string;
  /** More HTTP options (operations, readiness, draining), given the generated service token. */
  http?: (secrets: { serviceToken: string }) => Omit<HttpOptions, 'auth'>;
  /** Driver settings of the PostgreSQL connection pool (prepared statements, pool size). */
  database?: Pick<DatabaseOptions, 'preparedStatements' | 'poolSize'>;
  /** A PostgreSQL of the test's own (a private cluster it restarts) instead of a database on the shared one. */
  databaseUrl?: string;
}

/** The real application and HTTP adapter over a real database; requests go through app.fetch. */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const testDb = options.pglite || options.databaseUrl ? null : await createTestDatabase(options.label);
  const database = await openDatabase({ url: options.databaseUrl ?? testDb?.url, dataDir: 'memory://', ...options.database });
  const service = createService({ validationTimeoutMs: 60_000, ...options, db: database.db });
  const serviceToken = `svc_${randomBytes(12).toString('hex')}`;
  const jwtSecret = randomBytes(32).toString('hex');
  const http = options.http?.({ serviceToken });
  // Readiness as runtime.ts composes it: the database first, then whatever the test adds.
  const readiness = { database: databaseAnswers(database.db), ...http?.readiness };
  const app = createHttpApp(service, { ...http, readiness, auth: { serviceToken, jwtSecret } });
  const internalApp = createInternalApp(service);
  const call = async (
    target: { request: typeof app.request },
    method: string,
    path: string,
    headers: Record<string, string>,
    init: { body?: unknown; raw?: string },
  ) => {
    let body: string | undefined = init.raw;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await target.request(path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed as any, headers: response.headers };
  };
  return {
    database,
    url: options.databaseUrl ?? testDb?.url,
    service,
    app,
    internalApp,
    serviceToken,
    jwtSecret,
    teacher: (sub) => teacherToken(jwtSecret, sub),
    internalApi: (method, path, init = {}) => call(internalApp, method, path, { ...init.headers }, init),
    api(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token !== null) headers.authorization = `Bearer ${init.token ?? serviceToken}`;
      return call(app, method, path, headers, init);
    },
    async close() {
      await database.close();
      await testDb?.drop();
    },
  };
}

/** Every member of a Harness: `satisfies` fails to compile when one is added and not listed here. */
const HARNESS_MEMBERS = Object.keys({
  database: true,
  url: true,
  service: true,
  app: true,
  internalApp: true,
  internalApi: true,
  serviceToken: true,
  jwtSecret: true,
  teacher: true,
  api: true,
  close: true,
} satisfies Record<keyof Harness, true>) as Array<keyof Harness>;

/**
 * A harness for the enclosing describe block (or file): started before its tests and closed after
 * them. What it returns reads through to the started harness, so tests use it as they would the
 * harness itself; touching it outside a test or a later hook is an error.
 */
export function harnessForSuite(options: HarnessOptions): Harness {
  let started: Harness | undefined;
  beforeAll(async () => {
    started = await startHarness(options);
  });
  afterAll(() => started?.close());
  const current = (): Harness => {
    if (started === undefined) throw new Error(`the ${options.label} harness is used before beforeAll started it`);
    return started;
  };
  // Every member of a started harness is a value or a closure over it, never a method needing `this`.
  const suite = {} as Harness;
  for (const key of HARNESS_MEMBERS) Object.defineProperty(suite, key, { get: () => current()[key], enumerable: true });
  return suite;
}

/** A harness's options for deadlines one school day on, in the default calendar, at the clock `at`. */
export function schoolDayOptions(label: string, pglite: boolean, at: number): HarnessOptions {
  return {
    label,
    pglite,
    now: () => new Date(at),
    deadlines: { rule: { kind: 'school_days', days: 1 }, calendar: DEFAULT_SCHOOL_CALENDAR },
  };
}
