import type { BatchContext } from '../machines/batch.ts';
import {
  type BatchEvent,
  type ClassInboundEnvelope,
  type InboundEnvelope,
  type SlotInboundEnvelope,
  type SuggestedMatch,
  TOPICS,
} from '../machines/events.ts';
import type { EventRequest, Prepared } from './apply.ts';
import type { CreditChecker } from './credits.ts';
import { pipelineRequested } from './pipelines.ts';
import { requestFingerprint } from './idempotency.ts';
import { carrierOf } from './tracing.ts';
import { type DeadlinePolicy, validationDeadline } from './deadline-policy.ts';

type DataOf<T extends InboundEnvelope['event_type']> = Extract<InboundEnvelope, { event_type: T }>['data'];
type PlainTopic =
  | typeof TOPICS.contentProvisioned
  | typeof TOPICS.essaysReady
  | typeof TOPICS.phaseOutcome
  | typeof TOPICS.validationErrors;

/** The events that need nothing but their own data and the time they are applied at, by topic. */
const PLAIN_EVENTS: { [T in PlainTopic]: (data: DataOf<T>, at: string) => BatchEvent } = {
  [TOPICS.contentProvisioned]: (data, at) => ({
    type: 'CONTENT_PROVISIONED',
    at,
    essays: data.essays_for_processing,
    provisioned_count: data.provisioned_count,
    expected_count: data.expected_count,
  }),
  [TOPICS.essaysReady]: (data, at) => ({
    type: 'ESSAYS_READY',
    at,
    ready_essays: data.ready_essays,
    class_type: data.class_type,
    student_prompt_ref: data.student_prompt_ref ?? null,
  }),
  [TOPICS.phaseOutcome]: (data, at) => ({
    type: 'PHASE_OUTCOME',
    at,
    phase: data.phase_name,
    outcome: data.phase_status,
    processed_count: data.processed_essays.length,
    failed_essay_ids: data.failed_essay_ids,
  }),
  [TOPICS.validationErrors]: (data, at) => ({
    type: 'VALIDATION_ERRORS',
    at,
    critical: data.error_summary.critical_failure,
    total_errors: data.error_summary.total_errors,
    failed_essay_ids: data.failed_essays.map((e) => e.essay_id),
  }),
};

function plainEvent<T extends PlainTopic>(envelope: { event_type: T; data: DataOf<T> }): (at: string) => BatchEvent {
  const translate: (data: DataOf<T>, at: string) => BatchEvent = PLAIN_EVENTS[envelope.event_type];
  return (at) => translate(envelope.data, at);
}

/**
 * What an inbound envelope asked for, whichever transport brought it (HTTP or Kafka): the same
 * event delivered over both is one event, answered as a duplicate the second time.
 */
export function inboundFingerprint(envelope: InboundEnvelope): string {
  return requestFingerprint('POST', '/v1/events', envelope.data.batch_id, envelope);
}

/** The same for a slot assignment, which belongs to its batch but is no transition of it. */
export function slotEventFingerprint(envelope: SlotInboundEnvelope): string {
  return requestFingerprint('POST', '/v1/events', envelope.data.batch_id, envelope);
}

/** The same for the class service's events, which belong to no batch. */
export function classEventFingerprint(envelope: ClassInboundEnvelope): string {
  return requestFingerprint('POST', '/v1/events', '', envelope);
}

/** Translates a validated inbound envelope into a request for the application layer. */
export interface InboundSettings {
  /** How the validation deadline is counted, and the calendar it counts in when the class has none. */
  deadlines: DeadlinePolicy;
  credits: CreditChecker;
}

export function inboundRequest(envelope: InboundEnvelope, settings: InboundSettings): EventRequest {
  const base = {
    batchId: envelope.data.batch_id,
    eventId: envelope.event_id,
    actor: 'service',
    correlationId: envelope.correlation_id,
    trace: carrierOf(envelope.metadata),
  };
  switch (envelope.event_type) {
    case TOPICS.contentProvisioned:
    case TOPICS.essaysReady:
    case TOPICS.phaseOutcome:
    case TOPICS.validationErrors: {
      const event = plainEvent(envelope);
      return { ...base, build: (_context, _lookups, at) => ({ ok: true, event: event(at) }) };
    }
    case TOPICS.authorMatchesSuggested: {
      const data = envelope.data;
      return {
        ...base,
        build: async (context, lookups, at): Promise<Prepared> => {
          const errors = await suggestionErrors(context, data, (ids) => lookups.studentsOfClass(context.class_id, ids));
          if (errors.length > 0) return { ok: false, errors };
          const deadline = validationDeadline(at, settings.deadlines, await lookups.calendarOf(data.class_id));
          return {
            ok: true,
            event: {
              type: 'AUTHOR_MATCHES_SUGGESTED',
              at,
              class_id: data.class_id,
              created_by: context.owner_id,
              due_at: deadline.due_at,
              deadline_reason: deadline.reason,
              matches: data.match_results.map(matchOf),
            },
          };
        },
      };
    }
    case TOPICS.pipelineRequest: {
      const data = envelope.data;
      return {
        ...base,
        build: async (context, _lookups, at): Promise<Prepared> => ({
          ok: true,
          event: await pipelineRequested(
            context,
            {
              pipeline: data.requested_pipeline,
              requestedBy: data.user_id,
              promptPayload: data.prompt_payload ?? null,
              isRetry: data.is_retry,
            },
            settings.credits,
            at,
          ),
        }),
      };
    }
  }
}

type SuggestionsData = DataOf<typeof TOPICS.authorMatchesSuggested>;

/** Every suggestion is kept, highest confidence first (the original kept only the first). */
function matchOf(result: SuggestionsData['match_results'][number]): SuggestedMatch {
  return {
    essay_id: result.essay_id,
    text_storage_id: result.text_storage_id,
    filename: result.filename,
    suggestions: [...result.suggestions]
      .sort((a, b) => b.confidence_score - a.confidence_score)
      .map((s) => ({
        student_id: s.student_id,
        student_name: s.student_name,
        student_email: s.student_email ?? null,
        confidence_score: s.confidence_score,
        match_reasons: s.match_reasons,
      })),
  };
}

/**
 * Suggestions must name this batch's class, its essays and students of the class. A GUEST batch
 * has no class to check against; its state refuses the event instead.
 */
async function suggestionErrors(
  context: BatchContext,
  data: SuggestionsData,
  knownStudents: (ids: string[]) => Promise<Set<string>>,
): Promise<Array<{ path: string; message: string }>> {
  if (context.class_id === null) return [];
  const errors: Array<{ path: string; message: string }> = [];
  if (data.class_id !== context.class_id) {
    errors.push({ path: 'data.class_id', message: `batch ${context.batch_id} belongs to class ${context.class_id}` });
  }
  const essays = new Set(context.essays.map((e) => e.essay_id));
  const seen = new Set<string>();
  const suggested = data.match_results.flatMap((r) => r.suggestions.map((s) => s.student_id));
  const known = await knownStudents([...new Set(suggested)]);
  data.match_results.forEach((result, i) => {
    if (context.essays.length > 0 && !essays.has(result.essay_id)) {
      errors.push({ path: `data.match_results.${i}.essay_id`, message: 'not an essay of this batch' });
    }
    if (seen.has(result.essay_id)) {
      errors.push({ path: `data.match_results.${i}.essay_id`, message: 'essay appears more than once' });
    }
    seen.add(result.essay_id);
    result.suggestions.forEach((s, j) => {
      if (!known.has(s.student_id)) {
        errors.push({
          path: `data.match_results.${i}.suggestions.${j}.student_id`,
          message: `not a student of class ${context.class_id}`,
        });
      }
    });
  });
  return errors;
}
