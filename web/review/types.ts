import type { DeadlineReason } from '../../machines/school-calendar.ts';

/** The API's shapes as the page reads them (see /openapi.json); fields the page does not use are left out. */

export interface Suggestion {
  student_id: string;
  student_name: string;
  student_email?: string | null;
  confidence_score: number;
  match_reasons?: string[];
}

export interface Association {
  essay_id: string;
  student_id: string | null;
  student: { name: string; email: string | null } | null;
  suggested_student_id: string | null;
  confidence_score: number | null;
  confidence_level: 'high' | 'medium' | 'low' | 'no_match';
  match_reasons: string[] | null;
  validation_status: string;
  validation_method: string | null;
  validated_by: string | null;
  due_at: string | null;
  if_no_decision?: 'keep_suggestion' | 'unknown_student' | null;
  /** From the matcher (issue 9); absent on older servers. */
  filename?: string | null;
  suggestions?: Suggestion[];
}

export interface BatchView {
  batch_id: string;
  class_id: string | null;
  class_type: string;
  course_code: string;
  status: string;
  state: string;
  version: number;
  created_at: string;
  updated_at: string;
  validation: {
    due_at: string | null;
    /** Set while the automatic decision is paused. */
    paused: { paused_at: string; by: string; until: string | null; remaining_ms: number; paused_due_at: string } | null;
    pending: number;
    confirmed: number;
    rejected: number;
    timeout_confirmed: number;
    no_match: number;
  };
}

export interface Deadline {
  batch_id: string;
  due_at: string;
  pending_associations: number;
  will_keep_suggestion: number;
  will_link_unknown_student: number;
}

export interface ClassSummary {
  class_id: string;
  name: string;
  course_code: string;
  student_count: number;
}

export interface Student {
  student_id: string;
  first_name: string;
  last_name: string;
  email: string;
  is_unknown: boolean;
}

export interface HistoryRow {
  seq: number;
  at: string | null;
  event_type: string;
  actor: string;
  from_state: string | null;
  to_state: string | null;
  outcome: string;
  reason: string | null;
  detail?: HistoryDetail | null;
}

export interface OperatorNumbers {
  deadlines_overdue: number;
  batches_stuck: number;
  stuck_after_ms: number;
  oldest_unpublished_outbox_age_seconds: number;
}

export interface ChartGraph {
  id: string;
  nodes: Array<{ id: string; parent: string | null }>;
  edges: Array<{ source: string; target: string | null; event: string | null; guard: string | null }>;
}

/** The batch states the page names in plain words (the leaf, as the API's `state` gives it). */
export type BatchState =
  | 'awaiting_content_validation'
  | 'content_ingestion_failed'
  | 'failed_critically'
  | 'awaiting_student_validation.awaiting_suggestions'
  | 'awaiting_student_validation.awaiting_teacher'
  | 'student_validation_completed'
  | 'ready_for_pipeline_execution'
  | 'cancelled';

export type AssociationStatus = 'pending_validation' | 'confirmed' | 'rejected' | 'timeout_confirmed' | 'no_match';

export type Connection = 'connecting' | 'open' | 'retrying' | 'closed';

/** The pipelines the API accepts (POST /v1/batches/:id/pipelines). */
export const PIPELINES = ['nlp', 'cj_assessment', 'ai_feedback'] as const;
export type Pipeline = (typeof PIPELINES)[number];

/** Why the API refused one decision, sorted from its sentence (app/commands.ts decisionResults). */
export type Refusal = 'already_decided' | 'not_in_class' | 'no_suggestion' | 'not_accepted' | 'unknown_essay';

/** What the history keeps beyond the states (app/plan.ts historyDetail). */
export interface HistoryDetail {
  decided?: Array<{ essay_id: string; validation_status: AssociationStatus; student_id: string | null }>;
  reopened?: Array<{ essay_id: string; reopened_from: AssociationStatus }>;
  corrected?: Array<{
    essay_id: string;
    student_id: string;
    replaced: { validation_status: AssociationStatus; student_id: string | null };
  }>;
  /** Why the deadline falls when it does. */
  deadline_reason?: DeadlineReason;
  reason?: string | null;
  to_due_at?: string;
  /** A pause: its end, and the time the deadline had left; a resume: whether the pause's end fired it. */
  until?: string | null;
  remaining_ms?: number;
  automatic?: boolean;
  requested_pipeline?: string;
  total_errors?: number;
}

/** Why a request failed: the problem answer's status, or `network` when no answer came. */
export type ProblemKind = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503 | 'network' | 'other';
