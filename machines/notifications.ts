import { TOPICS } from './events.ts';

/**
 * TeacherNotificationRequestedV1 (`huleedu.notification.teacher.requested.v1`): the one event the
 * real websocket service reads to tell a teacher something. Types, categories and priorities are
 * the ones the real projectors use (BOS and CMS `notification_projector.py`) or, for
 * `student_matching_confirmation_required`, the websocket service's own tests and design spec.
 */

export type NotificationCategory =
  | 'batch_progress'
  | 'processing_results'
  | 'file_operations'
  | 'class_management'
  | 'student_workflow'
  | 'system_alerts';

export type NotificationPriority = 'critical' | 'immediate' | 'high' | 'standard' | 'low';

export interface TeacherNotification {
  teacher_id: string;
  notification_type: string;
  category: NotificationCategory;
  priority: NotificationPriority;
  payload: Record<string, unknown>;
  action_required: boolean;
  deadline_timestamp: string | null;
  correlation_id: string;
  batch_id: string | null;
  class_id: string | null;
  timestamp: string;
}

/** The outbound form every emitter uses; `at` becomes the notification's timestamp. */
export function teacherNotification(
  notification: Omit<TeacherNotification, 'timestamp' | 'action_required' | 'deadline_timestamp' | 'batch_id' | 'class_id'> &
    Partial<Pick<TeacherNotification, 'action_required' | 'deadline_timestamp' | 'batch_id' | 'class_id'>>,
  at: string,
) {
  return {
    type: TOPICS.teacherNotification,
    data: {
      action_required: false,
      deadline_timestamp: null,
      batch_id: null,
      class_id: null,
      ...notification,
      timestamp: at,
    } satisfies TeacherNotification,
  } as const;
}
