import { TOPICS } from '../../machines/events.ts';

/**
 * What the deadline publishes, in order, when it decides two pending essays: each decision, the
 * timeout's outcome and its notice, then the confirmed associations and their notice.
 */
export const DEADLINE_DECIDES_TWO = [
  TOPICS.associationUpdated,
  TOPICS.associationUpdated,
  TOPICS.timeoutProcessed,
  TOPICS.teacherNotification,
  TOPICS.associationsConfirmed,
  TOPICS.teacherNotification,
];
