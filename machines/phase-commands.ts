import { batchEvent } from './batch-event.ts';
import type { ClassType, CourseCode } from './domain.ts';
import { type CreditCheck, type EssayRef, type RequestedPipeline, TOPICS } from './events.ts';
import type { Phase } from './pipelines.ts';

/**
 * The first-phase commands the real orchestrator sends when a pipeline starts
 * (`*_initiator_impl.py`), and its refusal, PipelineDeniedV1. Shapes as the real models validate them.
 */

export interface PhaseFacts {
  batch_id: string;
  owner_id: string;
  org_id: string | null;
  course_code: CourseCode;
  class_type: ClassType;
  language: 'en' | 'sv';
  student_prompt_ref: unknown;
  assignment_id: string | null;
}

const promptRef = (batch: PhaseFacts) => (batch.student_prompt_ref ?? null) as Record<string, unknown> | null;

/** What every first-phase command carries: the essays and their language. */
const toProcess = (batch: PhaseFacts, essays: EssayRef[]) => ({ essays_to_process: essays, language: batch.language });

/** The commands of the assessing phases: besides the essays, the course, the class type, the prompt and their own fields. */
function assessingCommand<T extends string, F extends object>(
  type: T,
  eventName: string,
  batch: PhaseFacts,
  essays: EssayRef[],
  at: string,
  own: F,
) {
  return batchEvent(type, eventName, batch, at, {
    ...toProcess(batch, essays),
    course_code: batch.course_code,
    class_type: batch.class_type,
    ...own,
    student_prompt_ref: promptRef(batch),
  });
}

export function phaseCommand(phase: Phase, batch: PhaseFacts, essays: EssayRef[], at: string) {
  switch (phase) {
    case 'spellcheck':
      return batchEvent(TOPICS.spellcheckCommand, 'batch.spellcheck.initiate.command', batch, at, toProcess(batch, essays));
    case 'nlp':
      return batchEvent(TOPICS.nlpCommand, 'batch.nlp.initiate.command.v2', batch, at, {
        ...toProcess(batch, essays),
        student_prompt_ref: promptRef(batch),
      });
    case 'cj_assessment':
      return assessingCommand(TOPICS.cjAssessmentCommand, 'batch.cj_assessment.initiate.command', batch, essays, at, {
        assignment_id: batch.assignment_id,
      });
    case 'ai_feedback':
      return assessingCommand(TOPICS.aiFeedbackCommand, 'batch.ai_feedback.initiate.command', batch, essays, at, {
        owner_user_id: batch.owner_id,
      });
  }
}

export function pipelineDenied(
  batch: PhaseFacts,
  pipeline: RequestedPipeline,
  credits: Extract<CreditCheck, { allowed: false }>,
  at: string,
) {
  return batchEvent(TOPICS.pipelineDenied, 'pipeline.denied', batch, at, {
    batch_id: batch.batch_id,
    user_id: batch.owner_id,
    org_id: batch.org_id,
    requested_pipeline: pipeline,
    denial_reason: credits.denial_reason,
    required_credits: credits.required_credits,
    available_credits: credits.available_credits,
    resource_breakdown: credits.resource_breakdown,
    denied_at: at,
  });
}
