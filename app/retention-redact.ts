/**
 * Retention's pseudonymisation, pure: what a stored JSON document (a batch or association snapshot,
 * an association row's JSON columns, an outbox envelope, a processed event's answer, a history
 * row's detail and machine input) looks like once its batch's personal data is erased.
 *
 * The contract, shared with the audit: a batch whose history holds a `RETENTION_PURGED` row
 * (outcome `purged`) had every stored document passed through the function of its kind here, once
 * per purge. Redacting is idempotent (`redact(redact(x))` equals `redact(x)`), so a replay that
 * applies the same function to what the machines reproduce gets what the tables hold.
 *
 * What goes: names (`first_name`, `last_name`, `legal_full_name`, `full_name`, `full_legal_name`,
 * `student_name`, `student_first_name`, `student_last_name`) become {@link REDACTED}; e-mails
 * (`email`, `student_email`) become null; file names (`filename`, `file_name`, `original_file_name`)
 * become {@link REDACTED}; the matcher's `match_reasons` become []; and in a history detail or
 * machine input, the teacher's free-text `reason` (cancel, reopen, correction) becomes {@link REDACTED}. Empty and null
 * values stay as they are. What stays: every id (essay, student, batch, class, event), who decided
 * and when, states, `validation_status`, `validation_method`, confidence scores and levels, counts,
 * deadlines: the decision trail, joinable by student id.
 */

/** What a name, a file name or a free-text reason reads as after retention. */
export const REDACTED = '[redacted]';

/** The history row a purge writes: its `event_type`, `outcome` and `actor`. */
export const RETENTION_EVENT = 'RETENTION_PURGED';
export const RETENTION_OUTCOME = 'purged';
export const RETENTION_ACTOR = 'retention';

const NAME_KEYS = new Set([
  'first_name',
  'last_name',
  'legal_full_name',
  'full_name',
  'full_legal_name',
  'student_name',
  'student_first_name',
  'student_last_name',
  'filename',
  'file_name',
  'original_file_name',
]);
const EMAIL_KEYS = new Set(['email', 'student_email']);
const REASON_LIST_KEYS = new Set(['match_reasons']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function redactValue(key: string, value: Json, freeText: boolean): Json {
  if (NAME_KEYS.has(key) || (freeText && key === 'reason')) return typeof value === 'string' && value !== '' ? REDACTED : value;
  if (EMAIL_KEYS.has(key)) return typeof value === 'string' ? null : value;
  if (REASON_LIST_KEYS.has(key)) return Array.isArray(value) ? [] : value;
  return walk(value, freeText);
}

function walk(value: Json, freeText: boolean): Json {
  if (Array.isArray(value)) return value.map((item) => walk(item, freeText));
  if (value === null || typeof value !== 'object') return value;
  const out: { [key: string]: Json } = {};
  for (const [key, inner] of Object.entries(value)) out[key] = redactValue(key, inner, freeText);
  return out;
}

function redactDocument<T>(document: T, freeText: boolean): T {
  return document === undefined ? document : (walk(document as Json, freeText) as T);
}

/** A persisted batch snapshot (actor_snapshots.snapshot). */
export const redactBatchSnapshot = <T>(snapshot: T): T => redactDocument(snapshot, false);

/** A persisted association (essay_student_associations.snapshot: the record with its matcher details). */
export const redactAssociationSnapshot = <T>(snapshot: T): T => redactDocument(snapshot, false);

/** An outbox envelope, as stored and served by the feed. */
export const redactEnvelope = <T>(envelope: T): T => redactDocument(envelope, false);

/** A processed event's first answer (processed_events.response). */
export const redactResponse = <T>(response: T): T => redactDocument(response, false);

/** A history row's detail: also the teacher's free-text `reason`s. */
export const redactHistoryDetail = <T>(detail: T): T => redactDocument(detail, true);

/**
 * A history row's machine input (history.machine_input, what the audit replays): the built event
 * with the roster's names and e-mails it was checked against, the matcher's suggestions, file names
 * and the teacher's free-text `reason`s, plus the caller's audit facts. Ids, scores, decisions and
 * times stay, so the redacted input still drives the machine to the same decisions.
 */
export const redactMachineInput = <T>(input: T): T => redactDocument(input, true);

/** An essay_student_associations row's personal columns. */
export function redactAssociationRow<R extends { filename: string | null; match_reasons: unknown; suggestions: unknown }>(row: R): R {
  return {
    ...row,
    filename: row.filename === null || row.filename === '' ? row.filename : REDACTED,
    match_reasons: Array.isArray(row.match_reasons) ? [] : row.match_reasons,
    suggestions: redactDocument(row.suggestions, false),
  };
}

/** An essay_slots row's original file name (NOT NULL: the marker, never null). */
export const redactFileName = (name: string): string => (name === '' ? name : REDACTED);

/** Whether redacting changed a document: compared as JSON, since key order survives the walk. */
export const changedBy = (before: unknown, after: unknown): boolean => JSON.stringify(before) !== JSON.stringify(after);
