import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { sign } from 'hono/jwt';
import { Pool } from 'undici';
import { hostileJson, hostileNumber, hostileString, nearLimitBody, pctEncode, rawBodies, replaceAt } from './arbitraries.ts';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { postEvent, provisionedClassBatch, suggested } from '../support/flow.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { serveHarness } from '../support/served.ts';

/**
 * Property-based fuzzing of every route of the OpenAPI document over one pooled keep-alive undici
 * client against the real server and database. Properties: no 5xx, every 4xx is problem+json, no
 * socket error, and a probe batch (pending, owned by a teacher the fuzzer never acts as) keeps its
 * version, history and outbox. Used by tests/fuzz/api.fuzz.test.ts and `npm run fuzz`.
 */

export interface FuzzOptions {
  runs: number;
  seed: number;
  pglite?: boolean;
  log?: (line: string) => void;
}

export interface FuzzReport {
  runs: number;
  requests: number;
  seed: number;
  ms: number;
  byStatus: Record<string, number>;
}

type Route = { method: string; path: string; caller: 'service' | 'teacher' | null };

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const h: Harness = await startHarness({ label: 'fuzz', pglite: options.pglite ?? false, validationTimeoutMs: 3_600_000 });
  const served = await serveHarness(h);
  const pool = new Pool(served.base, { connections: 4, pipelining: 1, keepAliveTimeout: 30_000 });
  const started = performance.now();
  const byStatus: Record<string, number> = {};
  let requests = 0;
  try {
    const routes = await documentedRoutes(pool);
    log(`fuzz: seed ${options.seed}, ${options.runs} runs over ${routes.length} documented routes`);

    // The probe: a pending batch of a teacher the fuzzer never acts as.
    const owner = await h.teacher('probe-owner');
    const probe = await suggestedBatch(h, owner);
    const probeBatch = probe.batchId;
    const probeBefore = await probeState(h, probeBatch);

    // The target: the same for the teacher the fuzzer acts as, so near-miss bodies reach the writes.
    const fuzzTeacher = await h.teacher('fuzz-teacher');
    const { batchId: target, klass: targetClass, list: targetEssays } = await suggestedBatch(h, fuzzTeacher);

    const tokens = await tokenKinds(h);
    const validBodies = sampleBodies(target, targetClass.classId, targetEssays[0]!.essay_id);
    // Mostly callers who get past authentication, so the bodies and parameters are what is tested.
    const tokenArb = fc.oneof(
      { weight: 10, arbitrary: fc.constant('right') },
      { weight: 2, arbitrary: fc.constantFrom('teacher', 'service') },
      { weight: 4, arbitrary: fc.constantFrom(...Object.keys(tokens)) },
    );
    const routeArb = fc.constantFrom(...routes);
    const param = fc.oneof(
      fc.constant(probeBatch),
      fc.constant(probe.klass.classId),
      fc.constant(target),
      fc.constant(target),
      fc.constant(targetClass.classId),
      fc.uuid(),
      hostileString.map(pctEncode),
      fc.constantFrom('..%2F..%2Fadmin', '%00', 'null', '00000000-0000-0000-0000-000000000000', '%E0%A4%A'),
    );
    // A near-miss is the route's own valid body with one hostile value at one spot.
    const mutation = fc.oneof({ weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: hostileJson });
    const bodyFor = (route: Route) => {
      const own = validBodies.filter((b) => b.route.test(`${route.method} ${route.path}`)).map((b) => b.body);
      const samples = own.length > 0 ? own : validBodies.map((b) => b.body);
      return fc.oneof(
        {
          weight: 400,
          arbitrary: fc.tuple(fc.constantFrom(...samples), fc.nat(), mutation).map(([b, spot, v]) => JSON.stringify(replaceAt(b, spot, v))),
        },
        { weight: 150, arbitrary: hostileJson.map((v) => JSON.stringify(v)) },
        { weight: 150, arbitrary: rawBodies },
        { weight: 100, arbitrary: fc.constantFrom(...samples).map((b) => JSON.stringify(b)) },
        { weight: 100, arbitrary: fc.constant(undefined) },
        // Heavy: about one request in a hundred and thirty.
        { weight: 7, arbitrary: nearLimitBody },
      );
    };
    const contentType = fc.constantFrom(
      'application/json',
      'application/json',
      'application/json',
      'text/plain',
      undefined,
      'application/problem+json',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      '*/*',
    );
    const query = fc.oneof(
      fc.constant(''),
      fc
        .tuple(
          fc.constantFrom('before', 'after', 'limit', 'status', '__proto__', 'before'),
          fc.oneof(
            hostileString,
            hostileNumber.map(String),
            fc.constantFrom(
              '0000-01-01T00:00:00Z',
              '2026-01-01T00:00:00+23:59',
              '9999-12-31T23:59:59Z',
              '2026-02-30T00:00:00Z',
              '1e309',
              '-1',
            ),
          ),
        )
        .map(([k, v]) => `?${k}=${pctEncode(v)}`),
    );
    const methodArb = fc.oneof(
      { weight: 5, arbitrary: fc.constant<string | null>(null) },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
    );
    const extraHeaders = fc.record(
      {
        'idempotency-key': fc.oneof(
          hostileString.filter((s) => /^[\x20-\x7e]*$/.test(s)),
          fc.constantFrom('k-1', 'k-1', 'x'.repeat(300)),
        ),
        'x-correlation-id': fc.oneof(fc.uuid(), fc.constantFrom('not-a-uuid', '')),
      },
      { requiredKeys: [] },
    );

    const request = routeArb.chain((route) =>
      fc.record({
        pad: fc.nat(59),
        route: fc.constant(route),
        method: methodArb,
        params: fc.array(param, { minLength: 2, maxLength: 2 }),
        query,
        token: tokenArb,
        contentType,
        body: bodyFor(route),
        headers: extraHeaders,
      }),
    );

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let path = r.route.path.replace(/\{[^}]+\}/g, () => r.params.shift() ?? randomUUID()) + r.query;
        const method = r.method ?? r.route.method;
        const headers: Record<string, string> = { ...r.headers };
        if (r.pad === 0) headers['x-pad'] = 'y'.repeat(20 * 1024); // over Node's 16 KiB header limit
        const tokenKind = r.token === 'right' ? (r.route.caller ?? 'teacher') : r.token;
        const token = tokens[tokenKind];
        if (token) headers.authorization = token;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        const withBody = r.body !== undefined && method !== 'GET' && method !== 'HEAD';
        // The probe batch is never acted on with the power to change it: only tokens that cannot.
        if (path.includes(probeBatch) && tokenKind === 'service') path = path.replace(probeBatch, randomUUID());
        const body = withBody ? protectProbe(r.body!, probeBatch, tokenKind) : undefined;
        requests++;
        const res = await pool.request({ method, path, headers, body });
        byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
        // An open event stream never ends by itself: its answer is the status and headers.
        if (res.statusCode === 200 && String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.body.destroy();
          return;
        }
        const text = await res.body.text();
        const where = `${method} ${path.slice(0, 200)} (${tokenKind}, ${r.contentType ?? 'no content-type'}, body ${String(body ?? '').length} bytes)`;
        if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${where}: ${text.slice(0, 500)}`);
        if (res.statusCode >= 400 && !(method === 'HEAD')) {
          const type = String(res.headers['content-type'] ?? '');
          if (!type.startsWith('application/problem+json'))
            throw new Error(`${res.statusCode} without problem+json (${type}) for ${where}`);
          const problem = JSON.parse(text) as Record<string, unknown>;
          for (const field of ['type', 'title', 'status', 'detail']) {
            if (problem[field] === undefined || problem[field] === '')
              throw new Error(`problem without ${field} for ${where}: ${text.slice(0, 300)}`);
          }
        }
      }),
      { numRuns: options.runs, seed: options.seed, endOnFailure: true, verbose: 1 },
    );

    const probeAfter = await probeState(h, probeBatch);
    if (JSON.stringify(probeAfter) !== JSON.stringify(probeBefore)) {
      throw new Error(`the probe batch changed: ${JSON.stringify(probeBefore)} → ${JSON.stringify(probeAfter)} (seed ${options.seed})`);
    }
  } finally {
    await pool.close();
    await served.close();
    await h.close();
  }
  return { runs: options.runs, requests, seed: options.seed, ms: Math.round(performance.now() - started), byStatus };
}

/** A pending batch of the teacher's: one essay, provisioned, its class's first student suggested at 0.9. */
async function suggestedBatch(h: Harness, teacher: string) {
  const batch = await provisionedClassBatch(h, teacher);
  const { klass, batchId, list } = batch;
  await postEvent(h, suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.9 }]));
  return batch;
}

/**
 * Service events naming the probe batch could legitimately change it. With the service token, such
 * a body gets a NUL in `source_service` (a field the schema keeps): it must then be refused without
 * changing anything. Without that field the probe's id is swapped for a fresh one.
 */
function protectProbe(body: string, probeBatch: string, token: string): string {
  if (token !== 'service' || !body.includes(probeBatch)) return body;
  if (body.includes('"source_service":"')) return body.replaceAll('"source_service":"', '"source_service":"\\u0000');
  return body.replaceAll(probeBatch, randomUUID());
}

async function documentedRoutes(pool: Pool): Promise<Route[]> {
  const res = await pool.request({ method: 'GET', path: '/openapi.json' });
  const doc = (await res.body.json()) as { paths: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([m, op]) => {
        const scheme = Object.keys(op.security?.[0] ?? {})[0];
        const caller = scheme === 'serviceToken' ? 'service' : scheme === 'teacherJwt' ? 'teacher' : null;
        return { method: m.toUpperCase(), path, caller } as Route;
      }),
  );
}

async function tokenKinds(h: Harness) {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return {
    none: null,
    service: `Bearer ${h.serviceToken}`,
    teacher: `Bearer ${await h.teacher('fuzz-teacher')}`,
    expired: `Bearer ${await sign({ sub: 'fuzz-teacher', iat: now - 7200, exp: now - 3600 }, h.jwtSecret, 'HS256')}`,
    noExp: `Bearer ${await sign({ sub: 'fuzz-teacher', iat: now }, h.jwtSecret, 'HS256')}`,
    forever: `Bearer ${await sign({ sub: 'fuzz-teacher', iat: now, exp: now + 10 * 365 * 24 * 3600 }, h.jwtSecret, 'HS256')}`,
    nulSub: `Bearer ${await sign({ sub: 'fuzz\u0000teacher', iat: now, exp: now + 600 }, h.jwtSecret, 'HS256')}`,
    surrogateSub: `Bearer ${await sign({ sub: 'fuzz\ud800', iat: now, exp: now + 600 }, h.jwtSecret, 'HS256')}`,
    numericSub: `Bearer ${await sign({ sub: 12345 as never, iat: now, exp: now + 600 }, h.jwtSecret, 'HS256')}`,
    algNone: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'probe-owner', exp: now + 600 })}.`,
    wrongSecret: `Bearer ${await sign({ sub: 'probe-owner', iat: now, exp: now + 600 }, `${h.jwtSecret}-not-ours`, 'HS256')}`,
    hs512: `Bearer ${await sign({ sub: 'probe-owner', iat: now, exp: now + 600 }, h.jwtSecret, 'HS512')}`,
    garbage: 'Bearer not.a.jwt',
    basic: `Basic ${Buffer.from(`x:${h.serviceToken}`).toString('base64')}`,
    empty: 'Bearer ',
  } as Record<string, string | null>;
}

/** Bodies each route accepts, for mutation: one hostile value at one spot makes a near-miss. */
function sampleBodies(batchId: string, classId: string, essayId: string): Array<{ route: RegExp; body: unknown }> {
  const envelope = (eventType: string, data: unknown) => ({
    event_id: randomUUID(),
    event_type: eventType,
    event_timestamp: new Date().toISOString(),
    source_service: 'fuzz',
    correlation_id: randomUUID(),
    data,
    metadata: { note: 'n' },
  });
  const other = randomUUID();
  const events = /^POST \/v1\/events$/;
  return [
    { route: /^POST \/v1\/classes$/, body: { name: '9B', course_code: 'ENG5' } },
    { route: /students$/, body: { students: [{ first_name: 'A', last_name: 'B', email: 'a@b.example' }] } },
    { route: /^POST \/v1\/batches$/, body: { course_code: 'ENG5', class_id: classId, expected_essay_count: 1 } },
    { route: /^POST \/v1\/batches$/, body: { course_code: 'SV1', expected_essay_count: 2, batch_id: randomUUID() } },
    { route: /confirm$/, body: { associations: [{ essay_id: essayId, confirmed: true, student_id: randomUUID() }] } },
    { route: /pipelines$/, body: { pipeline: 'spellcheck' } },
    { route: /cancel$/, body: { reason: 'because' } },
    { route: /deadline$/, body: { extend_by_ms: 1000 } },
    { route: /deadline$/, body: { due_at: new Date(Date.now() + 3_600_000).toISOString() } },
    {
      route: events,
      body: envelope(TOPICS.contentProvisioned, {
        batch_id: other,
        provisioned_count: 1,
        expected_count: 1,
        course_code: 'ENG5',
        user_id: 'u',
        essays_for_processing: [{ essay_id: randomUUID(), text_storage_id: 's' }],
      }),
    },
    {
      route: events,
      body: envelope(TOPICS.authorMatchesSuggested, {
        batch_id: batchId,
        class_id: classId,
        course_code: 'ENG5',
        match_results: [
          {
            essay_id: essayId,
            text_storage_id: 's',
            filename: 'f',
            suggestions: [
              { student_id: randomUUID(), student_name: 'n', confidence_score: 0.5, match_reasons: ['r'], extraction_metadata: { k: 'v' } },
            ],
          },
        ],
        processing_summary: { a: 1 },
      }),
    },
    {
      route: events,
      body: envelope(TOPICS.essaysReady, {
        batch_id: batchId,
        ready_essays: [{ essay_id: essayId, text_storage_id: 's' }],
        course_code: 'ENG5',
        course_language: 'en',
        class_type: 'REGULAR',
        metadata: {},
      }),
    },
    { route: events, body: envelope(TOPICS.pipelineRequest, { batch_id: other, requested_pipeline: 'p', user_id: 'u', is_retry: false }) },
  ];
}

async function probeState(h: Harness, batchId: string) {
  const [row] = await rows<{ version: number; history: number; outbox: number; snapshot: string }>(
    h.database.db,
    sql`SELECT (SELECT version FROM actor_snapshots WHERE actor_id = ${`batch:${batchId}`}) AS version,
               (SELECT md5(snapshot::text) FROM actor_snapshots WHERE actor_id = ${`batch:${batchId}`}) AS snapshot,
               (SELECT count(*)::int FROM history WHERE batch_id = ${batchId}) AS history,
               (SELECT count(*)::int FROM outbox WHERE batch_id = ${batchId}) AS outbox`,
  );
  return row;
}
