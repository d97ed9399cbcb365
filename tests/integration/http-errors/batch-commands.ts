import { type BadRequest, type BadRequestFixture, serviceTokenRefused, nonUuidInPath, expiredJwt } from './support.ts';

/** A teacher's commands on a batch: confirming associations, requesting pipelines, cancelling. */
export function batchCommandRequests(fx: BadRequestFixture): BadRequest[] {
  const { h } = fx;
  const validConfirm = () => ({ associations: [{ essay_id: fx.pendingBatch.list[0]!.essay_id, confirmed: true }] });
  /** Teacher A's confirm request on the pending batch, with `init` (body, raw, headers) beside the credentials. */
  const confirmPending = (init: { body?: unknown; raw?: string; headers?: Record<string, string> }) =>
    h.api('POST', `/v1/batches/${fx.pendingBatch.batchId}/student-associations/confirm`, { ...fx.asA(), ...init });
  return [
    {
      name: 'confirm: confirmed as a string',
      status: 400,
      paths: ['associations.0.confirmed'],
      send: () => confirmPending({ body: { associations: [{ essay_id: fx.pendingBatch.list[0]!.essay_id, confirmed: 'yes' }] } }),
    },
    {
      name: 'confirm: a non-UUID essay_id',
      status: 400,
      paths: ['associations.0.essay_id'],
      send: () => confirmPending({ body: { associations: [{ essay_id: 'essay-1', confirmed: true }] } }),
    },
    {
      name: 'confirm: an unknown field',
      status: 400,
      names: 'force',
      send: () => confirmPending({ body: { ...validConfirm(), force: true } }),
    },
    nonUuidInPath('confirm', () =>
      h.api('POST', '/v1/batches/batch-1/student-associations/confirm', { ...fx.asA(), body: validConfirm() }),
    ),
    {
      name: 'confirm: an Idempotency-Key with spaces',
      status: 400,
      paths: [/idempotency-key$/i],
      send: () => confirmPending({ body: validConfirm(), headers: { 'idempotency-key': 'two words' } }),
    },
    {
      name: 'confirm: text/plain',
      status: 415,
      send: () => confirmPending({ raw: JSON.stringify(validConfirm()), headers: { 'content-type': 'text/plain' } }),
    },
    serviceTokenRefused('confirm', () =>
      h.api('POST', `/v1/batches/${fx.pendingBatch.batchId}/student-associations/confirm`, { body: validConfirm() }),
    ),
    {
      name: 'pipelines: an unknown field',
      status: 400,
      names: 'priority',
      send: () => h.api('POST', `/v1/batches/${fx.registeredBatch}/pipelines`, { ...fx.asA(), body: { pipeline: 'nlp', priority: 1 } }),
    },
    {
      name: 'pipelines: pipeline as a number',
      status: 400,
      paths: ['pipeline'],
      send: () => h.api('POST', `/v1/batches/${fx.registeredBatch}/pipelines`, { ...fx.asA(), body: { pipeline: 1 } }),
    },
    nonUuidInPath('pipelines', () => h.api('POST', '/v1/batches/not-a-uuid/pipelines', { ...fx.asA(), body: { pipeline: 'nlp' } })),
    nonUuidInPath('cancel', () => h.api('POST', '/v1/batches/not-a-uuid/cancel', { ...fx.asA(), body: {} })),
    {
      name: 'cancel: an unknown field',
      status: 400,
      names: 'force',
      send: () => h.api('POST', `/v1/batches/${fx.registeredBatch}/cancel`, { ...fx.asA(), body: { force: true } }),
    },
    {
      name: 'cancel: an expired JWT',
      status: 401,
      send: async () => h.api('POST', `/v1/batches/${fx.registeredBatch}/cancel`, { token: await expiredJwt(h), body: {} }),
    },
    serviceTokenRefused('cancel', () => h.api('POST', `/v1/batches/${fx.registeredBatch}/cancel`, { body: {} })),
  ];
}
