import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { classEventFingerprint, inboundFingerprint, slotEventFingerprint } from '../../app/inbound.ts';
import type { Service } from '../../app/service.ts';
import { traceOfRequest } from '../trace.ts';
import { INBOUND_TOPICS, InboundMessage, TOPICS, TOPIC_MODELS, isClassEnvelope, isSlotEnvelope } from '../../machines/events.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { answer, asService, documented, jsonBody } from '../documented.ts';
import { bodyErrors, problems } from '../openapi-problems.ts';
import { AppliedEvent, AppliedClassEvent, EXAMPLE, appliedExample } from '../openapi-schemas.ts';
import { sendOutcome } from '../outcome.ts';
import { notFound, problem, validationProblem } from '../problem.ts';
import { PROBLEM_KINDS } from '../problem.ts';
import { parseValue, readJson } from '../validate.ts';

const postEventRoute = createRoute({
  method: 'post',
  path: '/v1/events',
  tags: ['Inbound events'],
  summary: 'Apply one event from another service',
  description: `Takes one event envelope as the real HuleEdu services publish it (EventEnvelope). \`event_type\` is the topic: one of ${INBOUND_TOPICS.map((t) => `\`${t}\` (${TOPIC_MODELS[t]})`).join(', ')}; any other answers 400. Fields the real producers send that Phase 1 does not use are accepted. \`metadata.traceparent\`/\`tracestate\` (or the HTTP \`traceparent\` header) are continued into the events this one causes. The same \`event_id\` sent again with the same envelope answers 200 with \`duplicate: true\` and the first answer's body, and is applied once; with a different envelope or batch it answers 422. The class service's events (class and student created or updated) update the roster, so suggestions naming its students are accepted; a student whose class is not known yet answers 404 (send it again after the class's event), an e-mail another student of the class holds 409.`,
  security: asService,
  request: {
    body: jsonBody(InboundMessage, {
      event_id: EXAMPLE.eventId,
      event_type: TOPICS.contentProvisioned,
      event_timestamp: EXAMPLE.at,
      source_service: 'file_service',
      correlation_id: EXAMPLE.correlationId,
      data: {
        batch_id: EXAMPLE.batchId,
        provisioned_count: 1,
        expected_count: 1,
        course_code: 'ENG5',
        user_id: 'teacher-a',
        essays_for_processing: [{ essay_id: EXAMPLE.essayId, text_storage_id: 'storage-1' }],
      },
    }),
  },
  responses: {
    200: answer('Applied, or applied before (`duplicate: true`).', z.union([AppliedEvent, AppliedClassEvent]), appliedExample),
    ...problems([...bodyErrors, 404, 409, 422], { refused: true }),
  },
});

export function eventRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, postEventRoute, requireCaller('service'), async (c) => {
    const raw = await readJson(c);
    if (!raw.ok) return raw.response;
    const type = (raw.data as { event_type?: unknown } | null)?.event_type;
    if (typeof type === 'string' && !INBOUND_TOPICS.includes(type as never)) {
      return validationProblem(
        c,
        [{ path: 'event_type', message: `this service consumes ${INBOUND_TOPICS.join(', ')}` }],
        `Unknown event_type ${JSON.stringify(type).slice(0, 200)}.`,
      );
    }
    const parsed = parseValue(c, InboundMessage, raw.data, '');
    if (!parsed.ok) return parsed.response;
    const envelope = parsed.data;
    if (isClassEnvelope(envelope)) {
      const outcome = await service.applyClassEvent(envelope, classEventFingerprint(envelope));
      return answerOutsideBatch(c, outcome, outcome.kind === 'not_found' ? outcome.what : '');
    }
    if (isSlotEnvelope(envelope)) {
      const outcome = await service.applySlotAssigned(envelope, slotEventFingerprint(envelope));
      return answerOutsideBatch(c, outcome, `Batch ${envelope.data.batch_id}`);
    }
    const outcome = await service.applyInbound(envelope, {
      fingerprint: inboundFingerprint(envelope),
      fallbackTrace: traceOfRequest(c),
    });
    return sendOutcome(c, outcome, envelope.data.batch_id);
  });
  return app;
}

type OutsideBatchOutcome = Awaited<ReturnType<Service['applyClassEvent']>> | Awaited<ReturnType<Service['applySlotAssigned']>>;

/** The answer to an event that is no batch transition (the class service's, a slot assignment): its body, or why not. */
function answerOutsideBatch(c: Context, outcome: OutsideBatchOutcome, missing: string) {
  switch (outcome.kind) {
    case 'applied':
    case 'duplicate':
      return c.json(outcome.body, 200);
    case 'not_found':
      return notFound(c, missing);
    case 'conflict':
      return problem(c, { status: 409, title: 'Conflict', detail: outcome.detail });
    case 'key_reused':
      return problem(c, {
        status: 422,
        title: PROBLEM_KINDS[422].title,
        detail: `The id ${outcome.event_id} was used before for a different event; nothing was applied.`,
      });
  }
}
