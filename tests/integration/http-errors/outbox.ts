import { type BadRequest, type BadRequestFixture } from './support.ts';

/** GET /v1/outbox (service token): a teacher token, bad paging. */
export function outboxRequests(fx: BadRequestFixture): BadRequest[] {
  const { h } = fx;
  return [
    {
      name: 'outbox: a teacher token (service-only route)',
      status: 403,
      send: () => h.api('GET', '/v1/outbox', fx.asA()),
    },
    {
      name: 'outbox: a negative after',
      status: 400,
      paths: [/(^|\.)after$/],
      send: () => h.api('GET', '/v1/outbox?after=-1'),
    },
  ];
}
