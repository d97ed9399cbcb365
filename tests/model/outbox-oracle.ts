import { type AnyMachineSnapshot, type AnyStateMachine, type EventObject, createActor } from 'xstate';
import { TOPICS } from '../../machines/events.ts';
import type { BatchFacts, OutboxFact } from '../support/invariants.ts';
import { wireProblems } from '../support/wire.ts';
import type { BoundBatch } from './driver.ts';
import { MODEL } from '../../model/fixture.ts';
import { type Essay, type OracleBatch, type Topic, languageOf } from './oracle.ts';

/**
 * What a step put in the outbox, checked three ways: against what the machine emitted for the
 * step (the application must write exactly that, ids bound), against the real HuleEdu schema of
 * its topic, and against the oracle (which topics, and the fields the domain fixes: students,
 * methods, deciders, confidences, course, language, correlation id, timeout_triggered).
 */

const TOPIC_OF: Record<Topic, string> = {
  matching: TOPICS.studentMatchingCommand,
  updated: TOPICS.associationUpdated,
  timeout: TOPICS.timeoutProcessed,
  confirmed: TOPICS.associationsConfirmed,
  spellcheck: TOPICS.spellcheckCommand,
  nlp: TOPICS.nlpCommand,
  notice: TOPICS.teacherNotification,
  denied: TOPICS.pipelineDenied,
};

/** The wire value of `validated_by` / `created_by_user_id` for the deadline's decisions (common_core). */
const SYSTEM_TIMEOUT = 'SYSTEM_TIMEOUT';

/** The events the machine emits for one step from `before`. */
export function machineEmitted(
  machine: AnyStateMachine,
  before: AnyMachineSnapshot,
  event: EventObject,
): Array<{ type: string; data: any }> {
  const emitted: Array<{ type: string; data: any }> = [];
  const actor = createActor(machine, { snapshot: machine.getPersistedSnapshot(before) });
  actor.on('*', (e: any) => emitted.push(e));
  actor.start();
  actor.send(event);
  actor.stop();
  return emitted;
}

/** Fields the model cannot know (clock, roster names) or knows under its own ids. */
const MASKED = new Set([
  'timestamp',
  'denied_at',
  'deadline_timestamp',
  'message',
  'timeout_hours',
  'student_name',
  'processing_timestamp',
  'validated_at',
  'first_name',
  'last_name',
  'student_email',
  'student_first_name',
  'student_last_name',
  'timeout_hours',
]);

/**
 * Ids bound, masked fields masked, keys sorted, lists of essays sorted: jsonb keeps neither the
 * order of keys nor, through the stored snapshot's associations, the order of essays.
 */
function normalized(value: unknown, ids: Map<string, string>): string {
  return JSON.stringify(
    JSON.parse(JSON.stringify(value), (key, v) => {
      if (MASKED.has(key)) return '<masked>';
      if (typeof v === 'string') return ids.get(v) ?? v;
      if (Array.isArray(v)) return [...v].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)));
      return v;
    }),
  );
}

/** Topics in order, with a run of per-essay updates in any order (they come from a map of essays). */
const topicSequence = (topics: string[]) => JSON.stringify(topics);

export interface StepOutbox {
  rows: OutboxFact[];
  emitted: Array<{ type: string; data: any }>;
  expectedTopics: Topic[];
  oracle: OracleBatch;
  ids: BoundBatch;
  facts: BatchFacts;
  teacherId: string;
}

export function outboxProblems(s: StepOutbox): string[] {
  const p: string[] = [];
  const { batch } = s.facts;
  const rowTopics = s.rows.map((r) => r.topic);
  const want = s.expectedTopics.map((t) => TOPIC_OF[t]);
  if (JSON.stringify(rowTopics) !== JSON.stringify(want))
    p.push(`outbox topics ${JSON.stringify(rowTopics)}, the domain expects ${JSON.stringify(want)}`);

  // The machine's emits, with the model's ids bound to this batch's: the application writes exactly these.
  const unknownId = s.facts.associations.find((a) => a.validation_status === 'no_match')?.student_id;
  const toReal = new Map([
    ...s.ids.toReal,
    [MODEL.correlationId, batch.correlation_id],
    ...(unknownId ? [[MODEL.unknownStudent, unknownId] as [string, string]] : []),
  ]);
  const emittedTopics = s.emitted.map((e) => e.type);
  if (topicSequence(rowTopics) !== topicSequence(emittedTopics))
    p.push(`outbox topics ${JSON.stringify(rowTopics)}, the machine emitted ${JSON.stringify(emittedTopics)}`);
  else {
    const got = s.rows.map((row) => `${row.topic} ${normalized(row.envelope.data, new Map())}`).sort();
    const machine = s.emitted.map((e) => `${e.type} ${normalized(e.data, toReal)}`).sort();
    got.forEach((row, i) => {
      if (row !== machine[i]) p.push(`outbox data ${row} differs from the machine's ${machine[i]}`);
    });
  }

  const essayOf = new Map(
    [...s.ids.toReal]
      .filter(([m]) => m === MODEL.essayA || m === MODEL.essayB)
      .map(([m, r]) => [r, m === MODEL.essayA ? 'A' : 'B'] as const),
  );
  const realStudent = (essay: Essay) => {
    const a = s.oracle.associations[essay];
    if (!a || a.student === null) return null;
    if (a.student === 'unknown') return unknownId ?? '<the UNKNOWN student>';
    if (a.student === 'student1') return s.ids.toReal.get(MODEL.student1)!;
    return s.ids.toReal.get(MODEL.student0)!; // A's best suggestion; B has none and never reaches here
  };
  /**
   * The essay an outbound association names and the oracle's association for it, its student
   * checked; null, with the problem recorded, for an essay the batch does not have.
   */
  const namedAssociation = (sent: Record<string, any>, where: string) => {
    const essay = essayOf.get(sent.essay_id);
    const a = essay && s.oracle.associations[essay];
    if (!essay || !a) {
      p.push(`${where}: unknown essay ${sent.essay_id}`);
      return null;
    }
    if (sent.student_id !== realStudent(essay)) p.push(`${where} ${essay}: student ${sent.student_id}, expected ${realStudent(essay)}`);
    return { essay, a };
  };
  /** What the domain says a decided association's confidence is on the wire. */
  const wireScore = (essay: Essay) => (s.oracle.associations[essay]?.status === 'no_match' ? 0 : (s.oracle.confidence[essay] ?? 0));

  for (const row of s.rows) {
    const env = row.envelope as any;
    const data = env.data;
    const where = row.topic;
    p.push(...wireProblems(env, 'outbound', batch.batch_id));
    if (env.correlation_id !== batch.correlation_id || row.correlation_id !== batch.correlation_id)
      p.push(`${where}: correlation_id is not the batch's`);
    if ('course_code' in data && data.course_code !== s.ids.course)
      p.push(`${where}: course_code ${data.course_code}, batch ${s.ids.course}`);
    if ('batch_id' in data && data.batch_id !== batch.batch_id) p.push(`${where}: batch_id ${data.batch_id}`);
    switch (row.topic) {
      case TOPICS.teacherNotification:
        if (data.teacher_id !== s.teacherId) p.push(`${where}: teacher_id ${data.teacher_id}, expected ${s.teacherId}`);
        if (data.batch_id !== batch.batch_id) p.push(`${where}: batch_id ${data.batch_id}`);
        if (data.payload?.correction === true) {
          // A correction's notice names the corrected essays, each now the student the teacher named.
          const corrected = (data.payload.corrected_essay_ids as string[]).map((id) => essayOf.get(id));
          if (data.notification_type !== 'student_associations_confirmed') p.push(`${where}: correction as ${data.notification_type}`);
          if (data.payload.confirmed_count !== corrected.length) p.push(`${where}: confirmed_count ${data.payload.confirmed_count}`);
          for (const essay of corrected) {
            const a = essay && s.oracle.associations[essay];
            if (!a || a.student !== 'student1' || a.status !== 'confirmed')
              p.push(`${where}: corrected essay ${essay} is ${JSON.stringify(a)}`);
          }
        }
        break;
      case TOPICS.studentMatchingCommand:
      case TOPICS.nlpCommand:
      case TOPICS.spellcheckCommand: {
        const essays = (data.essays_to_process as Array<{ essay_id: string }>).map((e) => essayOf.get(e.essay_id)).sort();
        if (JSON.stringify(essays) !== '["A","B"]') p.push(`${where}: essays_to_process ${JSON.stringify(data.essays_to_process)}`);
        if (row.topic !== TOPICS.studentMatchingCommand && data.language !== languageOf(s.ids.course))
          p.push(`${where}: language ${data.language} for ${s.ids.course}`);
        if (row.topic === TOPICS.studentMatchingCommand && data.class_id !== batch.class_id) p.push(`${where}: class_id ${data.class_id}`);
        break;
      }
      case TOPICS.associationUpdated: {
        const named = namedAssociation(data, where);
        if (!named) break;
        const { essay, a } = named;
        if (data.association_method !== a.method) p.push(`${where} ${essay}: method ${data.association_method}, expected ${a.method}`);
        const by = a.method === 'timeout' ? SYSTEM_TIMEOUT : s.teacherId;
        if (data.created_by_user_id !== by) p.push(`${where} ${essay}: created_by_user_id ${data.created_by_user_id}, expected ${by}`);
        if (data.correlation_id !== batch.correlation_id) p.push(`${where} ${essay}: correlation_id is not the batch's`);
        const score = a.status === 'no_match' ? 0 : s.oracle.confidence[essay];
        if (data.confidence_score !== score) p.push(`${where} ${essay}: confidence ${data.confidence_score}, expected ${score}`);
        break;
      }
      case TOPICS.timeoutProcessed: {
        const byStatus = (status: string) => (['A', 'B'] as const).filter((e) => s.oracle.associations[e]?.status === status);
        const confirmed = (data.auto_confirmed_associations as Array<{ essay_id: string; confidence_score: number }>)
          .map((c) => [essayOf.get(c.essay_id), c.confidence_score])
          .sort();
        const wantConfirmed = byStatus('timeout_confirmed')
          .filter((e) => s.oracle.associations[e]?.method === 'timeout')
          .map((e) => [e, s.oracle.confidence[e]]);
        if (JSON.stringify(confirmed) !== JSON.stringify(wantConfirmed))
          p.push(`${where}: auto_confirmed ${JSON.stringify(confirmed)}, expected ${JSON.stringify(wantConfirmed)}`);
        const guests = (data.guest_essays as string[]).map((id) => essayOf.get(id)).sort();
        if (JSON.stringify(guests) !== JSON.stringify(byStatus('no_match'))) p.push(`${where}: guest_essays ${JSON.stringify(guests)}`);
        if (data.user_id !== s.teacherId) p.push(`${where}: user_id ${data.user_id}`);
        break;
      }
      case TOPICS.associationsConfirmed: {
        if (data.timeout_triggered !== s.oracle.timeoutTriggered)
          p.push(`${where}: timeout_triggered ${data.timeout_triggered}, expected ${s.oracle.timeoutTriggered}`);
        if (data.class_id !== batch.class_id) p.push(`${where}: class_id ${data.class_id}`);
        for (const sent of data.associations as Array<Record<string, any>>) {
          const named = namedAssociation(sent, where);
          if (!named) continue;
          const { essay, a } = named;
          if (sent.validation_method !== a.method) p.push(`${where} ${essay}: method ${sent.validation_method}`);
          if (sent.validated_by !== (a.method === 'timeout' ? SYSTEM_TIMEOUT : s.teacherId))
            p.push(`${where} ${essay}: validated_by ${sent.validated_by}`);
          if (sent.confidence_score !== wireScore(essay))
            p.push(`${where} ${essay}: confidence ${sent.confidence_score}, expected ${wireScore(essay)}`);
        }
        break;
      }
    }
  }
  return p;
}
