import type { BatchContext } from '../machines/batch.ts';
import { type InboundEnvelope, type SuggestedMatch, TOPICS } from '../machines/events.ts';
import type { EventRequest, Prepared } from './apply.ts';
import { studentsOfClass } from './students.ts';

/** Translates a validated inbound envelope into a request for the application layer. */
export function inboundRequest(envelope: InboundEnvelope, validationTimeoutMs: number): EventRequest {
  const base = {
    batchId: envelope.data.batch_id,
    eventId: envelope.event_id,
    actor: 'service',
    correlationId: envelope.correlation_id,
  };
  switch (envelope.event_type) {
    case TOPICS.contentProvisioned: {
      const data = envelope.data;
      return {
        ...base,
        build: (_context, _db, at) => ({
          ok: true,
          event: {
            type: 'CONTENT_PROVISIONED',
            at,
            essays: data.essays_for_processing,
            provisioned_count: data.provisioned_count,
            expected_count: data.expected_count,
          },
        }),
      };
    }
    case TOPICS.authorMatchesSuggested: {
      const data = envelope.data;
      return {
        ...base,
        build: async (context, db, at): Promise<Prepared> => {
          const errors = await suggestionErrors(context, data, (ids) => studentsOfClass(db, context.class_id, ids));
          if (errors.length > 0) return { ok: false, errors };
          return {
            ok: true,
            event: {
              type: 'AUTHOR_MATCHES_SUGGESTED',
              at,
              class_id: data.class_id,
              created_by: context.owner_id,
              due_at: new Date(Date.parse(at) + validationTimeoutMs).toISOString(),
              matches: data.match_results.map(bestSuggestion),
            },
          };
        },
      };
    }
    case TOPICS.essaysReady: {
      const data = envelope.data;
      return {
        ...base,
        build: (_context, _db, at) => ({
          ok: true,
          event: { type: 'ESSAYS_READY', at, ready_essays: data.ready_essays, class_type: data.class_type },
        }),
      };
    }
    case TOPICS.pipelineRequest: {
      const data = envelope.data;
      return {
        ...base,
        build: (_context, _db, at) => ({
          ok: true,
          event: { type: 'PIPELINE_REQUESTED', at, pipeline: data.requested_pipeline, requested_by: data.user_id },
        }),
      };
    }
  }
}

type SuggestionsData = Extract<InboundEnvelope, { event_type: typeof TOPICS.authorMatchesSuggested }>['data'];

/** The original stores only the highest-confidence suggestion per essay. */
function bestSuggestion(result: SuggestionsData['match_results'][number]): SuggestedMatch {
  const best = [...result.suggestions].sort((a, b) => b.confidence_score - a.confidence_score)[0];
  return {
    essay_id: result.essay_id,
    text_storage_id: result.text_storage_id,
    suggestion: best
      ? { student_id: best.student_id, confidence_score: best.confidence_score, match_reasons: best.match_reasons }
      : null,
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
