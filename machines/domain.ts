import { z } from 'zod';

/** Wire values of the original services (common_core enums). */
export const BATCH_STATUSES = [
  'awaiting_content_validation',
  'content_ingestion_failed',
  'awaiting_pipeline_configuration',
  'ready_for_pipeline_execution',
  'processing_pipelines',
  'awaiting_student_validation',
  'student_validation_completed',
  'validation_timeout_processed',
  'completed_successfully',
  'completed_with_failures',
  'failed_critically',
  'cancelled',
] as const;
export const BatchStatus = z.enum(BATCH_STATUSES);
export type BatchStatus = z.infer<typeof BatchStatus>;

export const ASSOCIATION_STATUSES = ['pending_validation', 'confirmed', 'rejected', 'timeout_confirmed', 'no_match'] as const;
export const AssociationStatus = z.enum(ASSOCIATION_STATUSES);
export type AssociationStatus = z.infer<typeof AssociationStatus>;

export const ValidationMethod = z.enum(['human', 'timeout', 'auto']);
export type ValidationMethod = z.infer<typeof ValidationMethod>;

export const ConfidenceLevel = z.enum(['high', 'medium', 'low', 'no_match']);
export type ConfidenceLevel = z.infer<typeof ConfidenceLevel>;

export const CourseCode = z.enum(['ENG5', 'ENG6', 'ENG7', 'SV1', 'SV2', 'SV3']);
export type CourseCode = z.infer<typeof CourseCode>;

/**
 * An e-mail address as the real roster's pydantic `EmailStr` takes it: SMTPUTF8, so a Swedish
 * roster's `emil.zäll.jernberg@test.edu` is one. No spaces, quotes or control characters; a domain
 * of dotted letter/digit labels.
 */
const ROSTER_EMAIL = /^[^\s@"\p{Cc}]{1,64}@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}]{2,63}$/u;
// A refinement, not `.regex()`: a JSON Schema `pattern` cannot carry the `u` flag \p{…} needs.
export const RosterEmail = z
  .string()
  .max(320)
  .refine((value) => ROSTER_EMAIL.test(value), 'an e-mail address');

export const ClassType = z.enum(['REGULAR', 'GUEST']);
export type ClassType = z.infer<typeof ClassType>;

/** At or above this confidence the timeout keeps the suggested student. */
export const TIMEOUT_CONFIDENCE_THRESHOLD = 0.7;

/** `validated_by` of decisions taken by the deadline rather than a person. */
export const SYSTEM_TIMEOUT = 'SYSTEM_TIMEOUT';

export function confidenceLevel(score: number | null): ConfidenceLevel {
  if (score === null) return 'no_match';
  if (score > 0.9) return 'high';
  if (score >= TIMEOUT_CONFIDENCE_THRESHOLD) return 'medium';
  return 'low';
}

export interface Course {
  course_code: CourseCode;
  name: string;
  language: 'en' | 'sv';
  level: number;
}

export function courseOf(code: CourseCode): Course {
  const level = Number(code.replace(/\D/g, ''));
  const english = code.startsWith('ENG');
  return {
    course_code: code,
    name: `${english ? 'English' : 'Svenska'} ${level}`,
    language: english ? 'en' : 'sv',
    level,
  };
}

export function unknownStudentEmail(classId: string): string {
  return `unknown.${classId}@huleedu.system`;
}
