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

const base = (eventName: string, batch: PhaseFacts, at: string) => ({
  event_name: eventName,
  entity_id: batch.batch_id,
  entity_type: 'batch',
  parent_id: null,
  timestamp: at,
});

const promptRef = (batch: PhaseFacts) => (batch.student_prompt_ref ?? null) as Record<string, unknown> | null;

export function phaseCommand(phase: Phase, batch: PhaseFacts, essays: EssayRef[], at: string) {
  switch (phase) {
    case 'spellcheck':
      return {
        type: TOPICS.spellcheckCommand,
        data: { ...base('batch.spellcheck.initiate.command', batch, at), essays_to_process: essays, language: batch.language },
      } as const;
    case 'nlp':
      return {
        type: TOPICS.nlpCommand,
        data: {
          ...base('batch.nlp.initiate.command.v2', batch, at),
          essays_to_process: essays,
          language: batch.language,
          student_prompt_ref: promptRef(batch),
        },
      } as const;
    case 'cj_assessment':
      return {
        type: TOPICS.cjAssessmentCommand,
        data: {
          ...base('batch.cj_assessment.initiate.command', batch, at),
          essays_to_process: essays,
          language: batch.language,
          course_code: batch.course_code,
          class_type: batch.class_type,
          assignment_id: batch.assignment_id,
          student_prompt_ref: promptRef(batch),
        },
      } as const;
    case 'ai_feedback':
      return {
        type: TOPICS.aiFeedbackCommand,
        data: {
          ...base('batch.ai_feedback.initiate.command', batch, at),
          essays_to_process: essays,
          language: batch.language,
          course_code: batch.course_code,
          class_type: batch.class_type,
          owner_user_id: batch.owner_id,
          student_prompt_ref: promptRef(batch),
        },
      } as const;
  }
}

export function pipelineDenied(
  batch: PhaseFacts,
  pipeline: RequestedPipeline,
  credits: Extract<CreditCheck, { allowed: false }>,
  at: string,
) {
  return {
    type: TOPICS.pipelineDenied,
    data: {
      ...base('pipeline.denied', batch, at),
      batch_id: batch.batch_id,
      user_id: batch.owner_id,
      org_id: batch.org_id,
      requested_pipeline: pipeline,
      denial_reason: credits.denial_reason,
      required_credits: credits.required_credits,
      available_credits: credits.available_credits,
      resource_breakdown: credits.resource_breakdown,
      denied_at: at,
    },
  } as const;
}
