import { Hono } from 'hono';
import { inboundRequest } from '../../app/inbound.ts';
import type { Service } from '../../app/service.ts';
import { INBOUND_TOPICS, InboundEnvelope } from '../../machines/events.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { sendOutcome } from '../outcome.ts';
import { validationProblem } from '../problem.ts';
import { parseValue, readJson } from '../validate.ts';

export function eventRoutes(service: Service) {
  return new Hono<AuthEnv>().post('/v1/events', requireCaller('service'), async (c) => {
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
    const parsed = parseValue(c, InboundEnvelope, raw.data, '');
    if (!parsed.ok) return parsed.response;
    const envelope = parsed.data;
    return sendOutcome(c, await service.apply(inboundRequest(envelope, service.validationTimeoutMs)), envelope.data.batch_id);
  });
}
