import { beforeAll, describe, expect, it } from 'vitest';
import { DOCS_PATH, DOCS_SCRIPT_PATH, OPENAPI_PATH } from '../../server/api-docs.ts';
import { MAX_BODY_BYTES, createHttpApp } from '../../server/app.ts';
import { confirmAssociations, createClassWithStudents, essays, essaysReady } from '../support/flow.ts';
import { postEvent, provisioned, registerBatch, suggested, uuid } from '../support/flow.ts';
import { type ApiResponse, type Harness, harnessForSuite } from '../support/harness.ts';
import { type OpenApiDocument, SpecValidator } from '../support/spec.ts';

interface Exchange {
  method: string;
  path: string;
  response: ApiResponse;
}

/** The harness, with every request and answer written down for checking against the document. */
function recording(h: Harness, exchanges: Exchange[]): Harness {
  return {
    ...h,
    async api(method, path, init) {
      const response = await h.api(method, path, init);
      exchanges.push({ method, path, response });
      return response;
    },
  };
}

/** The docs themselves, the generated diagram files and the review page's files; every other route must be in the document. */
const undocumented = (path: string) =>
  [OPENAPI_PATH, DOCS_PATH, DOCS_SCRIPT_PATH, '/'].includes(path) ||
  path === '/visualizations' ||
  path.startsWith('/visualizations/') ||
  path === '/review' ||
  path.startsWith('/review/');

/** Routes whose success is not JSON: the batch event stream (text/event-stream), checked in tests/integration/stream.test.ts. */
const STREAMING = new Set(['/v1/batches/{batch_id}/stream']);
/** Service routes under /v1; every other /v1 route is a teacher's. */
const SERVICE_ROUTES = new Set([
  '/v1/events',
  '/v1/outbox',
  '/v1/operations/numbers',
  '/v1/operations/batches/{batch_id}/audit',
  '/v1/operations/retention/purge',
  '/v1/operations/classes/{class_id}/validation/pause',
  '/v1/operations/classes/{class_id}/validation/resume',
]);

const operationsOf = (document: OpenApiDocument) =>
  Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
  );

describe('OpenAPI document and docs page', () => {
  const h = harnessForSuite({ label: 'openapi' });
  let document: OpenApiDocument;
  let spec: SpecValidator;

  beforeAll(async () => {
    const served = await h.api('GET', OPENAPI_PATH, { token: null });
    expect(served.status).toBe(200);
    document = served.body;
    spec = new SpecValidator(document);
  });

  it('serves an OpenAPI 3.1 document without a token, with both bearer schemes', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document.components.securitySchemes).toMatchObject({
      serviceToken: { type: 'http', scheme: 'bearer' },
      teacherJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    });
  });

  it('documents every route the app serves, and no route it does not serve', () => {
    const app = createHttpApp(h.service, { auth: { serviceToken: h.serviceToken, jwtSecret: h.jwtSecret } });
    const served = new Set(
      app.routes.filter((r) => r.method !== 'ALL' && !undocumented(r.path)).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(operationsOf(document));
    expect(
      [...served].filter((r) => !documented.has(r)),
      'served but not documented',
    ).toEqual([]);
    expect(
      [...documented].filter((r) => !served.has(r)),
      'documented but not served',
    ).toEqual([]);
    for (const extra of ['POST /v1/batches/{batch_id}/cancel', 'POST /v1/batches/{batch_id}/deadline', 'GET /v1/deadlines']) {
      expect(documented).toContain(extra);
    }
  });

  it('gives every operation its security, an example answer, and problem+json errors with the 400 and 409 extensions', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        const expected = path.startsWith('/v1/') ? [{ [SERVICE_ROUTES.has(path) ? 'serviceToken' : 'teacherJwt']: [] }] : [];
        expect(operation.security, name).toEqual(expected);
        const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
        expect(success.length, name).toBe(1);
        if (STREAMING.has(path)) {
          expect(Object.keys(success[0]![1].content!), name).toEqual(['text/event-stream']);
          continue;
        }
        const media = success[0]![1].content!['application/json']!;
        const ref = (media.schema as { $ref?: string }).$ref?.split('/').at(-1);
        expect(media.example ?? (ref && document.components.schemas[ref]!.example), `${name} has an example answer`).toBeDefined();
        for (const [status, response] of Object.entries(operation.responses)) {
          if (status.startsWith('2')) continue;
          expect(Object.keys(response.content ?? {}), `${name} ${status}`).toEqual(['application/problem+json']);
        }
        if (path.startsWith('/v1/')) expect(Object.keys(operation.responses), name).toEqual(expect.arrayContaining(['400', '401', '403']));
        if (operation.requestBody) {
          expect(operation.requestBody.content['application/json']!.example, `${name} has a request example`).toBeDefined();
          expect(Object.keys(operation.responses), name).toEqual(expect.arrayContaining(['413', '415']));
        }
      }
    }
    expect(document.components.schemas.ValidationProblem).toMatchObject({ required: expect.arrayContaining(['errors']) });
    expect(document.components.schemas.TransitionRefused).toMatchObject({
      required: expect.arrayContaining(['state', 'event', 'allowed_events']),
    });
    const pipelineConflict = document.paths['/v1/batches/{batch_id}/pipelines']!.post!.responses['409']!;
    expect(JSON.stringify(pipelineConflict.content)).toContain('#/components/schemas/TransitionRefused');
  });

  it('has examples that fit their own schemas', () => {
    let checked = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const bodies = Object.entries(operation.requestBody?.content ?? {}).map(([type, media]) => ({
          at: ['requestBody', 'content', type],
          media,
        }));
        const answers = Object.entries(operation.responses).flatMap(([status, response]) =>
          Object.entries(response.content ?? {}).map(([type, media]) => ({ at: ['responses', status, 'content', type], media })),
        );
        for (const { at, media } of [...bodies, ...answers]) {
          if (media.example === undefined) continue;
          expect(spec.errorsAt(['paths', path, method, ...at, 'schema'], media.example), `${method} ${path} ${at.join(' ')}`).toEqual([]);
          checked++;
        }
      }
    }
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      if (schema.example === undefined) continue;
      expect(spec.errorsAt(['components', 'schemas', name], schema.example), name).toEqual([]);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('answers every documented route, in a REGULAR flow and its errors, with bodies that fit the documented schemas', async () => {
    const exchanges: Exchange[] = [];
    const r = recording(h, exchanges);
    expect((await r.api('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await r.api('GET', '/readyz', { token: null })).status).toBe(200);

    const teacher = await h.teacher('teacher-openapi');
    const klass = await createClassWithStudents(r, teacher, 'ENG5', 3);
    expect((await r.api('GET', '/v1/classes', { token: teacher })).status).toBe(200);
    expect((await r.api('GET', '/v1/operations/numbers')).status).toBe(200);
    // Retention: off in this harness (409 without a period), a dry run with one.
    expect((await r.api('POST', '/v1/operations/retention/purge', { body: {} })).status).toBe(409);
    expect((await r.api('POST', '/v1/operations/retention/purge', { body: { dry_run: true, retention_days: 365 } })).status).toBe(200);
    expect((await r.api('GET', `/v1/classes/${klass.classId}/students`, { token: teacher })).status).toBe(200);
    const cmsClass = await r.api('POST', '/v1/classes/', { token: teacher, body: { name: '9A', course_codes: ['SV1', 'SV2'] } });
    expect(cmsClass.status).toBe(201);
    expect((await r.api('GET', `/v1/classes/${cmsClass.body.id}`, { token: teacher })).status).toBe(200);
    expect((await r.api('PUT', `/v1/classes/${cmsClass.body.id}`, { token: teacher, body: { name: '9B' } })).status).toBe(200);
    expect((await r.api('GET', `/v1/classes/${cmsClass.body.id}/calendar`, { token: teacher })).status).toBe(200);
    const calendar = { time_zone: 'Europe/Stockholm', school_days: ['mon', 'tue', 'wed', 'thu', 'fri'], opens: '08:00', closes: '16:00' };
    expect((await r.api('PUT', `/v1/classes/${cmsClass.body.id}/calendar`, { token: teacher, body: calendar })).status).toBe(200);
    const student = await r.api('POST', '/v1/classes/students', {
      token: teacher,
      body: { person_name: { first_name: 'Emil', last_name: 'Zäll' }, email: 'emil.zäll.jernberg@test.edu', class_ids: [cmsClass.body.id] },
    });
    expect(student.status).toBe(201);
    expect((await r.api('GET', `/v1/classes/students/${student.body.id}`, { token: teacher })).status).toBe(200);
    expect((await r.api('PUT', `/v1/classes/students/${student.body.id}`, { token: teacher, body: { email: null } })).status).toBe(200);
    const batchId = await registerBatch(r, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 3 });
    expect((await r.api('GET', '/v1/batches', { token: teacher })).status).toBe(200);
    expect((await r.api('GET', `/v1/batches/${batchId}`, { token: teacher })).status).toBe(200);

    const prompt = { student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-openapi' } } } };
    expect((await r.api('PATCH', `/v1/batches/${batchId}/prompt`, { token: teacher, body: prompt })).status).toBe(200);
    const early = await r.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } });
    expect(early.status).toBe(409);
    expect(spec.errorsAt(['components', 'schemas', 'TransitionRefused'], early.body)).toEqual([]);

    const list = essays(3);
    const content = provisioned(batchId, list);
    expect((await postEvent(r, content)).status).toBe(200);
    const replay = await postEvent(r, content);
    expect(replay.body.duplicate).toBe(true);
    expect((await r.api('GET', '/v1/outbox?after=0&limit=50')).status).toBe(200);

    const [s0, s1, s2] = klass.students;
    const matches = [
      { essay: list[0]!, student_id: s0!.student_id, score: 0.95 },
      { essay: list[1]!, student_id: s1!.student_id, score: 0.8 },
      { essay: list[2]!, student_id: s2!.student_id, score: 0.4 },
    ];
    expect((await postEvent(r, suggested(batchId, klass.classId, matches))).status).toBe(200);
    expect((await r.api('GET', `/v1/batches/${batchId}/student-associations`, { token: teacher })).status).toBe(200);
    const deadlines = await r.api('GET', '/v1/deadlines', { token: teacher });
    expect(deadlines.body.deadlines).toHaveLength(1);

    const extend = { token: teacher, body: { extend_by_ms: 3_600_000 }, headers: { 'idempotency-key': 'extend-once' } };
    const moved = await r.api('POST', `/v1/batches/${batchId}/deadline`, extend);
    expect(moved.status).toBe(200);
    expect(moved.body.due_at).not.toBeNull();
    expect((await r.api('POST', `/v1/batches/${batchId}/deadline`, extend)).body.duplicate).toBe(true);
    // Paused and resumed by the teacher, then by an operator for the whole class.
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const paused = await r.api('POST', `/v1/batches/${batchId}/deadline/pause`, { token: teacher, body: { until, reason: 'trip' } });
    expect(paused.status).toBe(200);
    expect((await r.api('GET', '/v1/deadlines', { token: teacher })).body.paused).toHaveLength(1);
    expect((await r.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body.validation.paused).not.toBeNull();
    expect((await r.api('POST', `/v1/batches/${batchId}/deadline/resume`, { token: teacher, body: {} })).status).toBe(200);
    const ops = `/v1/operations/classes/${klass.classId}/validation`;
    expect((await r.api('POST', `${ops}/pause`, { body: { operator: 'ops', reason: 'storm' } })).body.changed).toHaveLength(1);
    expect((await r.api('POST', `${ops}/resume`, { body: { operator: 'ops' } })).body.changed).toHaveLength(1);

    expect((await postEvent(r, essaysReady(batchId, list, 'REGULAR'))).status).toBe(200);
    // The teacher rejects one essay, takes it back, and then decides all three.
    const rejectOne = { associations: [{ essay_id: list[1]!.essay_id, confirmed: false }] };
    expect((await r.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, { token: teacher, body: rejectOne })).status).toBe(
      200,
    );
    const reopened = await r.api('POST', `/v1/batches/${batchId}/student-associations/reopen`, {
      token: teacher,
      body: { essay_ids: [list[1]!.essay_id, list[0]!.essay_id], reason: 'wrong essay' },
    });
    expect(reopened.status).toBe(200);
    expect(reopened.body.associations_reopened).toBe(1);
    const decided = await confirmAssociations(r, teacher, batchId, [
      { essay_id: list[0]!.essay_id, confirmed: true },
      { essay_id: list[1]!.essay_id, confirmed: false },
      { essay_id: list[2]!.essay_id, student_id: s2!.student_id, confirmed: true },
    ]);
    expect(decided.body.status).toBe('ready_for_pipeline_execution');
    // After validation, the rejected essay gets its real author; once a pipeline is asked for, no more.
    const correction = { corrections: [{ essay_id: list[1]!.essay_id, student_id: s2!.student_id, reason: 'found the name' }] };
    const corrected = await r.api('POST', `/v1/batches/${batchId}/student-associations/correct`, { token: teacher, body: correction });
    expect(corrected.status).toBe(200);
    expect(corrected.body.associations_corrected).toBe(1);
    expect((await r.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } })).status).toBe(202);
    const late = { corrections: [{ essay_id: list[0]!.essay_id, student_id: s2!.student_id }] };
    const refused = await r.api('POST', `/v1/batches/${batchId}/student-associations/correct`, { token: teacher, body: late });
    expect(refused.status).toBe(409);
    expect(refused.body.results).toHaveLength(1);
    expect((await r.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).status).toBe(200);
    // The operator's audit replays all of the above (extension, rejection, reopening, correction, refusals) to what is stored.
    expect((await r.api('GET', `/v1/operations/batches/${batchId}/audit`)).body).toMatchObject({ ok: true, result: 'reproduced' });

    const viaGateway = await r.api('POST', '/v1/batches/register', {
      token: teacher,
      body: { expected_essay_count: 2, course_code: 'SV1', user_id: 'teacher-openapi', org_id: 'org-1' },
    });
    expect(viaGateway.status).toBe(202);
    const guestId = await registerBatch(r, teacher, { course_code: 'ENG6', expected_essay_count: 1 });
    expect((await r.api('POST', `/v1/batches/${guestId}/cancel`, { token: teacher, body: { reason: 'wrong essays' } })).status).toBe(200);

    const errors: Array<[number, Promise<ApiResponse>]> = [
      [400, r.api('GET', '/v1/batches/not-a-uuid', { token: teacher })],
      [400, postEvent(r, { ...content, event_type: 'huleedu.unknown.v1', event_id: uuid() })],
      [401, r.api('GET', '/v1/batches', { token: null })],
      [403, r.api('GET', '/v1/outbox', { token: teacher })],
      [404, r.api('GET', `/v1/batches/${uuid()}`, { token: teacher })],
      [409, r.api('POST', '/v1/batches', { token: teacher, body: { course_code: 'ENG6', expected_essay_count: 1, batch_id: guestId } })],
      [
        413,
        r.api('POST', '/v1/classes', {
          token: teacher,
          raw: 'x'.repeat(MAX_BODY_BYTES + 1),
          headers: { 'content-type': 'application/json' },
        }),
      ],
      [415, r.api('POST', '/v1/classes', { token: teacher, raw: 'name=x', headers: { 'content-type': 'text/plain' } })],
    ];
    for (const [status, pending] of errors) expect((await pending).status).toBe(status);

    for (const { method, path, response } of exchanges) {
      const template = spec.templateOf(path);
      const name = `${method} ${path} → ${response.status}`;
      expect(template, name).toBeDefined();
      const operation = document.paths[template!]![method.toLowerCase()];
      expect(operation?.responses[String(response.status)], `${name} is a documented answer`).toBeDefined();
      const type = response.headers.get('content-type')!.split(';')[0]!;
      expect(operation!.responses[String(response.status)]!.content?.[type], `${name} as ${type}`).toBeDefined();
      const at = ['paths', template!, method.toLowerCase(), 'responses', String(response.status), 'content', type, 'schema'];
      expect(spec.errorsAt(at, response.body), name).toEqual([]);
    }

    const answered = new Set(exchanges.filter((e) => e.response.status < 300).map((e) => `${e.method} ${spec.templateOf(e.path)}`));
    const reachable = operationsOf(document).filter((op) => !STREAMING.has(op.split(' ')[1]!));
    expect(
      reachable.filter((op) => !answered.has(op)),
      'documented routes the flow did not reach',
    ).toEqual([]);
  });

  it('serves the docs page without a token, loading only scripts served by this service', async () => {
    const page = await h.api('GET', DOCS_PATH, { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = page.body as string;
    expect(html).not.toMatch(/https?:\/\//i);
    const references = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    expect(references).toEqual([DOCS_SCRIPT_PATH]);
    expect(html).toContain(`"url": "${OPENAPI_PATH}"`);
    expect(html).toContain('"withDefaultFonts": false');

    const script = await h.api('GET', DOCS_SCRIPT_PATH, { token: null });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.body as string).toContain('createApiReference');
  });
});
