import { sql } from 'drizzle-orm';
import type { OutboxMessage } from './transition-types.ts';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  pgView,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();
const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

export const courses = pgTable('courses', {
  course_code: text('course_code').primaryKey(),
  name: text('name').notNull(),
  language: text('language').notNull(),
  level: integer('level').notNull(),
});

export const classes = pgTable(
  'classes',
  {
    id: uuid('id').primaryKey(),
    owner_id: text('owner_id').notNull(),
    name: text('name').notNull(),
    /** The class's first course; batches and the teacher API's single `course_code` show it. */
    course_code: text('course_code')
      .notNull()
      .references(() => courses.course_code),
    /** Every course of the class (the real CreateClassRequest's `course_codes`), `course_code` first. */
    course_codes: text('course_codes').array().notNull().default(sql`'{}'::text[]`),
    created_at: createdAt(),
  },
  (t) => [index('classes_owner_idx').on(t.owner_id)],
);

/** A class's own school calendar (time zone, school week, opening hours, closed days); none: the service's. */
export const classCalendars = pgTable('class_calendars', {
  class_id: uuid('class_id')
    .primaryKey()
    .references(() => classes.id, { onDelete: 'cascade' }),
  calendar: jsonb('calendar').notNull(),
  updated_by: text('updated_by').notNull(),
  updated_at: tz('updated_at').notNull().defaultNow(),
});

export const students = pgTable(
  'students',
  {
    id: uuid('id').primaryKey(),
    /**
     * The class the student was first added to. Membership is `class_students` (a student may be in
     * several classes); this column keys the UNKNOWN student and the per-class e-mail uniqueness.
     */
    class_id: uuid('class_id').references(() => classes.id),
    first_name: text('first_name').notNull(),
    /** May be empty: real rosters hold students with one name. */
    last_name: text('last_name').notNull(),
    /** PersonNameV1.legal_full_name; null when the roster gave none. */
    legal_full_name: text('legal_full_name'),
    /** Optional, and SMTPUTF8 (`emil.zäll.jernberg@test.edu`), as the real roster's. */
    email: text('email'),
    is_unknown: boolean('is_unknown').notNull().default(false),
    created_by_user_id: text('created_by_user_id'),
    created_at: createdAt(),
  },
  (t) => [
    uniqueIndex('students_class_email_uq').on(t.class_id, t.email),
    // The UNKNOWN student is created once per class and reused.
    uniqueIndex('students_one_unknown_per_class_uq').on(t.class_id).where(sql`${t.is_unknown}`),
  ],
);

/** Which students are in which classes (the real class_student_association). */
export const classStudents = pgTable(
  'class_students',
  {
    class_id: uuid('class_id')
      .notNull()
      .references(() => classes.id),
    student_id: uuid('student_id')
      .notNull()
      .references(() => students.id),
    created_at: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.class_id, t.student_id] }), index('class_students_student_idx').on(t.student_id)],
);

/** A row that belongs to a batch. */
const batchRef = () =>
  uuid('batch_id')
    .notNull()
    .references(() => batches.batch_id);

/** The batch projection: what the API lists and filters. The snapshot is the truth. */
export const batches = pgTable(
  'batches',
  {
    batch_id: uuid('batch_id').primaryKey(),
    owner_id: text('owner_id').notNull(),
    class_id: uuid('class_id').references(() => classes.id),
    class_type: text('class_type').notNull(),
    course_code: text('course_code')
      .notNull()
      .references(() => courses.course_code),
    language: text('language').notNull(),
    expected_essay_count: integer('expected_essay_count').notNull(),
    correlation_id: uuid('correlation_id').notNull(),
    status: text('status').notNull(),
    state: text('state').notNull(),
    version: integer('version').notNull(),
    due_at: tz('due_at'),
    /** The last pipeline request's prompt_payload and BatchEssaysReady's student_prompt_ref, for later phases. */
    prompt_payload: jsonb('prompt_payload'),
    student_prompt_ref: jsonb('student_prompt_ref'),
    created_at: createdAt(),
    updated_at: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('batches_owner_status_idx').on(t.owner_id, t.status)],
);

export const actorSnapshots = pgTable('actor_snapshots', {
  actor_id: text('actor_id').primaryKey(),
  machine_id: text('machine_id').notNull(),
  machine_version: integer('machine_version').notNull(),
  /** Row version: every applied event adds one; writers check it (optimistic concurrency). */
  version: integer('version').notNull(),
  snapshot: jsonb('snapshot').notNull(),
  updated_at: tz('updated_at').notNull().defaultNow(),
});

/**
 * Columns, NOT NULLs, the unique essay and both indexes as in the Class Management Service, plus
 * the association's persisted actor (`snapshot`, `machine_version`).
 */
export const essayStudentAssociations = pgTable(
  'essay_student_associations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    essay_id: uuid('essay_id').notNull().unique('essay_student_associations_essay_id_key'),
    student_id: uuid('student_id').references(() => students.id),
    batch_id: batchRef(),
    class_id: uuid('class_id')
      .notNull()
      .references(() => classes.id),
    created_by_user_id: text('created_by_user_id'),
    created_at: createdAt(),
    confidence_score: doublePrecision('confidence_score'),
    match_reasons: jsonb('match_reasons'),
    validation_status: text('validation_status').notNull().default('pending_validation'),
    validated_by: text('validated_by'),
    validated_at: tz('validated_at'),
    validation_method: text('validation_method'),
    suggested_student_id: uuid('suggested_student_id').references(() => students.id),
    text_storage_id: text('text_storage_id'),
    /** The matcher's filename and every suggestion, highest confidence first, for the teacher's review. */
    filename: text('filename'),
    suggestions: jsonb('suggestions'),
    /**
     * The association as its own persisted actor (association machine context, state and the
     * matcher's details), since batch machine v3: the batch snapshot keeps only counts, so an event
     * about one essay reads and writes this row, not the whole class. Written by the statement that
     * writes the projection columns. Null on a row written before v3 whose batch nobody upgraded
     * yet: its record still lives in the batch snapshot, and the upgrade at start or the batch's
     * next event fills it (app/upgrade.ts, `storeEveryAssociation`).
     */
    snapshot: jsonb('snapshot'),
    /** The association machine version that wrote `snapshot`; null with it. */
    machine_version: integer('machine_version'),
  },
  (t) => [
    index('ix_essay_student_associations_class_status').on(t.class_id, t.validation_status),
    index('ix_essay_student_associations_batch_status').on(t.batch_id, t.validation_status),
  ],
);

/**
 * EssaySlotAssignedV1: which uploaded file became which essay slot. The original file name is what
 * the teacher recognises an essay by; the matcher sends an empty `filename`.
 */
export const essaySlots = pgTable(
  'essay_slots',
  {
    essay_id: uuid('essay_id').primaryKey(),
    batch_id: batchRef(),
    file_upload_id: text('file_upload_id').notNull(),
    text_storage_id: text('text_storage_id').notNull(),
    original_file_name: text('original_file_name').notNull(),
    assigned_at: tz('assigned_at').notNull().defaultNow(),
  },
  (t) => [index('essay_slots_batch_idx').on(t.batch_id)],
);

/** Every applied event id, kept forever, with the answer given the first time. */
export const processedEvents = pgTable('processed_events', {
  event_id: text('event_id').primaryKey(),
  /** Null for events about no batch (the class service's class and student events). */
  batch_id: uuid('batch_id'),
  response: jsonb('response').notNull(),
  /** Hash of what was asked (method, route, batch, canonical body); a key reused for another request is refused. Null for timers and rows written before it existed. */
  fingerprint: text('fingerprint'),
  created_at: createdAt(),
});

/** Append-only audit log: applied events, refusals and late timers. */
export const history = pgTable(
  'history',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    batch_id: batchRef(),
    at: tz('at').notNull().defaultNow(),
    event_type: text('event_type').notNull(),
    event_id: text('event_id'),
    actor: text('actor').notNull(),
    from_state: text('from_state'),
    to_state: text('to_state'),
    correlation_id: uuid('correlation_id'),
    outcome: text('outcome').notNull(),
    reason: text('reason'),
    version: integer('version').notNull(),
    detail: jsonb('detail'),
    /**
     * What the machine was given, so the audit (app/audit.ts) can replay the batch: for
     * BATCH_REGISTERED the machine input and the essay ids; for an event the built machine event and
     * the caller's audit facts. Null on rows that apply nothing (SNAPSHOT_MIGRATED, reminders) and on
     * rows written before it existed (migration history_machine_input): those batches cannot be replayed.
     */
    machine_input: jsonb('machine_input'),
  },
  (t) => [index('history_batch_seq_idx').on(t.batch_id, t.seq)],
);

/**
 * One row per transition: every message the transition emitted, in order, each with its own event
 * id, topic and correlation id. The relays fan them out (jobs/relay.ts) and the feed numbers them
 * one by one (db/feed.ts); `outbox_messages` (below) reads them a message a row.
 */
export const outbox = pgTable(
  'outbox',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** Null for class-level events (class notifications); their envelope's partition key is the class. */
    batch_id: uuid('batch_id'),
    /** The messages, in the order they are published: [{ event_id, topic, correlation_id, envelope }]. */
    messages: jsonb('messages').$type<OutboxMessage[]>().notNull(),
    created_at: createdAt(),
    published_at: tz('published_at'),
    /**
     * The feed's commit-order cursor, of the row's first message (its n-th message is at
     * position + n - 1). `seq` is taken at insert, so a transaction with a lower seq can commit after
     * a higher one; positions are handed out only to committed rows, one reader at a time, so a
     * poller paging by position never skips a message.
     */
    position: bigint('position', { mode: 'number' }).unique(),
  },
  (t) => [
    index('outbox_unpublished_idx').on(t.seq).where(sql`${t.published_at} IS NULL`),
    index('outbox_unpositioned_idx').on(t.seq).where(sql`${t.position} IS NULL`),
    // The relay and the feed count and fan out the array: a scalar would stop both, and an empty
    // array would take the next row's feed position.
    check('outbox_messages_array', sql`jsonb_typeof(${t.messages}) = 'array' AND jsonb_array_length(${t.messages}) > 0`),
  ],
);

/**
 * The outbox a message a row (drizzle/0012_outbox_transitions.sql): `seq` and `idx` (from 1) name a
 * message, `position` is its place in the feed. For reading: audits, retention, tests, operators.
 */
export const outboxMessages = pgView('outbox_messages', {
  seq: bigint('seq', { mode: 'number' }).notNull(),
  idx: integer('idx').notNull(),
  event_id: uuid('event_id').notNull(),
  topic: text('topic').notNull(),
  batch_id: uuid('batch_id'),
  correlation_id: uuid('correlation_id').notNull(),
  envelope: jsonb('envelope').notNull(),
  created_at: tz('created_at').notNull(),
  published_at: tz('published_at'),
  position: bigint('position', { mode: 'number' }),
}).existing();

/** One pending validation deadline per batch. `version` keys the timer job. */
export const deadlines = pgTable(
  'deadlines',
  {
    batch_id: uuid('batch_id')
      .primaryKey()
      .references(() => batches.batch_id),
    version: integer('version').notNull(),
    due_at: tz('due_at').notNull(),
    /** A sweeper's lease: others skip the row until then; a crashed sweeper's claim expires. */
    claimed_until: tz('claimed_until'),
    /** The deadline version the teacher was reminded of; a moved deadline (a new version) is reminded again. */
    reminded_version: integer('reminded_version'),
    created_at: createdAt(),
  },
  (t) => [index('deadlines_due_idx').on(t.due_at)],
);
