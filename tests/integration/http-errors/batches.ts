import type { BadRequest, BadRequestFixture } from './support.ts';
import { serviceTokenRefused, nonUuidInPath, JSON_HEADERS, expiredJwt, foreignJwt } from './support.ts';

/** The teacher's batch routes: registering a batch, the batch list, one batch and its history. */
export function batchRequests(fx: BadRequestFixture): BadRequest[] {
  const { h } = fx;
  const validRegister = () => ({ course_code: 'ENG5', class_id: fx.klassA.classId, expected_essay_count: 2 });
  return [
    {
      name: 'register batch: malformed JSON',
      status: 400,
      send: () => h.api('POST', '/v1/batches', { ...fx.asA(), raw: '{"course_code": "ENG5",', headers: JSON_HEADERS }),
    },
    {
      name: 'register batch: expected_essay_count as a string',
      status: 400,
      paths: ['expected_essay_count'],
      send: () => h.api('POST', '/v1/batches', { ...fx.asA(), body: { ...validRegister(), expected_essay_count: '2' } }),
    },
    {
      name: 'register batch: expected_essay_count overflowing to Infinity',
      status: 400,
      paths: ['expected_essay_count'],
      send: () =>
        h.api('POST', '/v1/batches', {
          ...fx.asA(),
          raw: `{"course_code":"ENG5","class_id":"${fx.klassA.classId}","expected_essay_count":1e400}`,
          headers: JSON_HEADERS,
        }),
    },
    {
      name: 'register batch: a non-UUID batch_id',
      status: 400,
      paths: ['batch_id'],
      send: () => h.api('POST', '/v1/batches', { ...fx.asA(), body: { ...validRegister(), batch_id: 'my-batch' } }),
    },
    {
      name: 'register batch: a non-UUID class_id',
      status: 400,
      paths: ['class_id'],
      send: () => h.api('POST', '/v1/batches', { ...fx.asA(), body: { ...validRegister(), class_id: 'class-1' } }),
    },
    {
      name: 'register batch: an unknown course_code',
      status: 400,
      paths: ['course_code'],
      send: () => h.api('POST', '/v1/batches', { ...fx.asA(), body: { course_code: 'MATH1', expected_essay_count: 2 } }),
    },
    {
      name: 'register batch: an unknown field',
      status: 400,
      names: 'owner_id',
      send: () => h.api('POST', '/v1/batches', { ...fx.asA(), body: { ...validRegister(), owner_id: 'teacher-b' } }),
    },
    {
      name: 'register batch: text/plain',
      status: 415,
      send: () =>
        h.api('POST', '/v1/batches', { ...fx.asA(), raw: JSON.stringify(validRegister()), headers: { 'content-type': 'text/plain' } }),
    },
    {
      name: 'register batch: an expired JWT',
      status: 401,
      send: async () => h.api('POST', '/v1/batches', { token: await expiredJwt(h), body: validRegister() }),
    },
    {
      name: 'register batch: a JWT signed with another secret',
      status: 401,
      send: async () => h.api('POST', '/v1/batches', { token: await foreignJwt(h), body: validRegister() }),
    },
    serviceTokenRefused('register batch', () => h.api('POST', '/v1/batches', { body: validRegister() })),
    {
      name: 'list batches: an invalid status query',
      status: 400,
      paths: [/(^|\.)status$/],
      send: () => h.api('GET', '/v1/batches?status=bogus', fx.asA()),
    },
    serviceTokenRefused('list batches', () => h.api('GET', '/v1/batches')),
    nonUuidInPath('get batch', () => h.api('GET', '/v1/batches/not-a-uuid', fx.asA())),
    serviceTokenRefused('get batch', () => h.api('GET', `/v1/batches/${fx.registeredBatch}`)),
    nonUuidInPath('history', () => h.api('GET', '/v1/batches/12345/history', fx.asA())),
  ];
}
