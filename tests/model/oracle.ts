import type { ClassType } from '../../model/fixture.ts';

/**
 * The model tests' independent oracle: what each step of a path should do to the batch, written by
 * hand from the domain (huleedu-phase1.md, huleedu-wire/README.md, CONTRACT.md; v2 semantics) and
 * NOT read from machines/. The paths come from the machine; this table says where each of their
 * steps must land, which refusals each state owes, which topics each step publishes and what the
 * associations become. A chart that disagrees with it fails the model tests, whatever the machine
 * itself expects.
 */

export type Essay = 'A' | 'B';
export type Status = 'pending_validation' | 'confirmed' | 'rejected' | 'timeout_confirmed' | 'no_match';

export interface OracleAssociation {
  status: Status;
  /** `suggestion` (the matcher's best), `student1` (a correction), `unknown` (the class's UNKNOWN student) or null. */
  student: 'suggestion' | 'student1' | 'unknown' | null;
  method: 'human' | 'timeout' | null;
}

/** What the oracle knows of one batch: only what the domain talks about. */
export interface OracleBatch {
  classType: ClassType;
  state: string;
  essaysStored: boolean;
  pipelineRequested: boolean;
  /** The nlp pipeline's phases: dispatched or done (the model requests only nlp: spellcheck, then nlp). */
  spellcheck: 'none' | 'dispatched' | 'done';
  nlp: 'none' | 'dispatched' | 'done';
  /** The suggestion's confidence per essay (null: no suggestion), from the path's data. */
  confidence: Record<Essay, number | null>;
  associations: Partial<Record<Essay, OracleAssociation>>;
  timeoutTriggered: boolean;
  /** The validation deadline is paused: nothing decides by timeout until it is resumed. */
  paused: boolean;
}

/** The domain's threshold: the deadline keeps a suggestion of confidence 0.7 or more. */
const KEEP_AT = 0.7;

const S = {
  content: 'awaiting_content_validation',
  ingestionFailed: 'content_ingestion_failed',
  failed: 'failed_critically',
  suggestions: 'awaiting_student_validation.awaiting_suggestions',
  teacher: 'awaiting_student_validation.awaiting_teacher',
  completed: 'student_validation_completed',
  ready: 'ready_for_pipeline_execution',
  cancelled: 'cancelled',
} as const;

export type Topic = 'matching' | 'updated' | 'timeout' | 'confirmed' | 'spellcheck' | 'nlp' | 'notice' | 'denied';

export interface Expected {
  /** The state after the step, or 'refused' (nothing may change). */
  target: string | 'refused';
  /** The topics the step publishes, in order. */
  topics: Topic[];
  /** The batch as the oracle has it after the step (unchanged when refused). */
  after: OracleBatch;
}

const pending = (b: OracleBatch) => Object.values(b.associations).filter((a) => a?.status === 'pending_validation').length;

/** Validation ends when nothing is pending: ready if the essays were stored already, else completed. */
function settleIfDone(b: OracleBatch, topics: Topic[]): void {
  if (pending(b) > 0) return;
  b.state = b.essaysStored ? S.ready : S.completed;
  // A pause belongs to the validation; it ends with it.
  b.paused = false;
  // The teacher is told, with the event every service reads.
  topics.push('confirmed', 'notice');
}

const CONFIRM_SUGGESTION: OracleAssociation = { status: 'confirmed', student: 'suggestion', method: 'human' };
const REJECTED: OracleAssociation = { status: 'rejected', student: null, method: 'human' };
const TO_STUDENT1: OracleAssociation = { status: 'confirmed', student: 'student1', method: 'human' };

/**
 * The teacher's calls: each decision and what it makes of its essay, or 'refused' (B has no
 * suggestion to confirm; A cannot go to a student outside the class).
 */
const DECISIONS: Record<string, Array<[Essay, OracleAssociation | 'refused']>> = {
  'confirm A': [['A', CONFIRM_SUGGESTION]],
  'reject B': [['B', REJECTED]],
  'correct B to student 1': [['B', TO_STUDENT1]],
  'confirm B without a suggestion (guard fails)': [['B', 'refused']],
  'correct A to a student outside the class (guard fails)': [['A', 'refused']],
  'confirm A and reject B': [
    ['A', CONFIRM_SUGGESTION],
    ['B', REJECTED],
  ],
  'confirm B without a suggestion, and A (B refused)': [
    ['B', 'refused'],
    ['A', CONFIRM_SUGGESTION],
  ],
};

/** Each decision on a pending essay applies on its own; the call is refused only when none applies. */
function decide(b: OracleBatch, decisions: Array<[Essay, OracleAssociation | 'refused']>): Expected | null {
  const topics: Topic[] = [];
  for (const [essay, to] of decisions) {
    if (to === 'refused' || b.associations[essay]?.status !== 'pending_validation') continue;
    b.associations[essay] = to;
    topics.push('updated');
  }
  if (topics.length === 0) return null;
  settleIfDone(b, topics);
  return { target: b.state, topics, after: b };
}

/**
 * A teacher takes back their own decision while the batch waits: the essay is pending again with
 * its suggestion (none for B). A pending essay or one the deadline decided has nothing to take back.
 * Nothing is published.
 */
function reopen(b: OracleBatch, essays: Essay[]): Expected | null {
  const decidedByTeacher = essays.filter((essay) => b.associations[essay]?.method === 'human');
  if (decidedByTeacher.length === 0) return null;
  for (const essay of decidedByTeacher) {
    b.associations[essay] = { status: 'pending_validation', student: b.confidence[essay] === null ? null : 'suggestion', method: null };
  }
  return { target: b.state, topics: [], after: b };
}

/**
 * After validation, until a pipeline is requested, the teacher may name the real author of any
 * decided essay, the deadline's decisions included: all the named essays or none (none if one is
 * already that student's). Each correction is announced to every service, and the teacher is told.
 */
function correctToStudent1(b: OracleBatch, essays: Essay[]): Expected | null {
  if (b.classType !== 'REGULAR' || b.pipelineRequested) return null;
  const each = essays.map((essay) => b.associations[essay]);
  if (each.some((a) => a === undefined || a.status === 'pending_validation' || a.student === 'student1')) return null;
  for (const essay of essays) b.associations[essay] = TO_STUDENT1;
  return { target: b.state, topics: [...essays.map((): Topic => 'updated'), 'notice'], after: b };
}

/** Row by row: the state's own events, then the ones every state of validation shares. */
function step(b: OracleBatch, label: string): Expected | null {
  const same = (topics: Topic[] = []): Expected => ({ target: b.state, topics, after: b });
  const go = (state: string, topics: Topic[] = []): Expected => (
    (b.state = state), (b.paused = false), { target: state, topics, after: b }
  );
  const validating = b.state === S.suggestions || b.state === S.teacher;

  switch (b.state) {
    case S.content:
      if (label === 'provision 2 essays') return b.classType === 'REGULAR' ? go(S.suggestions, ['matching']) : go(S.ready);
      if (label === 'provision 0 essays') return go(S.ingestionFailed);
      if (label === 'critical validation errors') return go(S.failed);
      if (label === 'some essays failed validation') return same();
      if (label === 'cancel') return go(S.cancelled);
      if (label === 'amend prompt') return same();
      return null;
    case S.ingestionFailed:
    case S.failed:
    case S.cancelled:
      return null; // final: everything is refused
    case S.suggestions:
      if (label === 'suggest authors') {
        // A pending association holds the suggested student until someone decides.
        b.associations = {
          A: { status: 'pending_validation', student: b.confidence.A === null ? null : 'suggestion', method: null },
          B: { status: 'pending_validation', student: b.confidence.B === null ? null : 'suggestion', method: null },
        };
        // The teacher is asked to confirm, with the deadline.
        return go(S.teacher, ['notice']);
      }
      break;
    case S.teacher:
      if (DECISIONS[label]) return decide(b, DECISIONS[label]);
      if (label === 'reopen A and B') return reopen(b, ['A', 'B']);
      // A running deadline can be moved or paused; a paused one is resumed by the teacher or its end. Nothing is published.
      if (label === 'extend deadline') return b.paused ? null : same();
      if (label === 'pause until noon') return b.paused ? null : ((b.paused = true), same());
      if (label === 'resume' || label === 'pause ends') return b.paused ? ((b.paused = false), same()) : null;
      if (label === 'deadline passes') {
        const topics: Topic[] = [];
        for (const essay of ['A', 'B'] as const) {
          if (b.associations[essay]?.status !== 'pending_validation') continue;
          const score = b.confidence[essay];
          b.associations[essay] =
            score !== null && score >= KEEP_AT
              ? { status: 'timeout_confirmed', student: 'suggestion', method: 'timeout' }
              : { status: 'no_match', student: 'unknown', method: 'timeout' };
          topics.push('updated');
        }
        b.timeoutTriggered = true;
        topics.push('timeout', 'notice');
        settleIfDone(b, topics);
        return { target: b.state, topics, after: b };
      }
      // A stale timer and a deadline in the past decide nothing.
      break;
    case S.completed:
      if (label === 'essays ready (REGULAR)') return ((b.essaysStored = true), go(S.ready));
      if (label === 'correct A and B to student 1') return correctToStudent1(b, ['A', 'B']);
      if (label === 'some essays failed validation') return same();
      if (label === 'cancel') return go(S.cancelled);
      return null;
    case S.ready:
      // v2: the batch stays ready while a pipeline runs; its first phase, spellcheck, is commanded.
      // A pipeline starts at its first phase not done; a request while a phase of it runs is skipped.
      if (label === 'request pipeline') {
        if (b.spellcheck === 'none') return ((b.pipelineRequested = true), (b.spellcheck = 'dispatched'), same(['spellcheck', 'notice']));
        if (b.spellcheck === 'done' && b.nlp === 'none') return ((b.nlp = 'dispatched'), same(['nlp', 'notice']));
        return same();
      }
      // CJ costs credits and the model's entitlements have none: denied, unless a phase it needs runs.
      if (label === 'request cj_assessment without credits') return b.spellcheck === 'dispatched' ? same() : same(['denied', 'notice']);
      if (label === 'spellcheck completes' && b.pipelineRequested) return ((b.spellcheck = 'done'), same());
      if (label === 'nlp completes' && b.pipelineRequested) return ((b.nlp = 'done'), same());
      if (label === 'amend prompt') return same();
      if (label === 'correct A and B to student 1') return correctToStudent1(b, ['A', 'B']);
      // v2: GUEST batches get no BatchEssaysReady in the real flow; one that comes changes nothing.
      if (label === 'essays ready (GUEST)' && b.classType === 'GUEST') return ((b.essaysStored = true), same());
      if (label === 'some essays failed validation') return same();
      if (label === 'cancel' && !b.pipelineRequested) return go(S.cancelled);
      return null;
  }
  if (validating) {
    // Essays may be stored before validation ends (two topics, no order); once only.
    if (label === 'essays ready (REGULAR)' && !b.essaysStored) return ((b.essaysStored = true), same());
    if (label === 'some essays failed validation') return same();
    if (label === 'cancel') return go(S.cancelled);
  }
  return null;
}

/** What `label` should do to `batch`; the batch given is not changed. */
export function expectStep(batch: OracleBatch, label: string): Expected {
  const copy = structuredClone(batch);
  return step(copy, label) ?? { target: 'refused', topics: [], after: batch };
}

export function initialOracle(classType: ClassType, confidence: Record<Essay, number | null>): OracleBatch {
  return {
    classType,
    state: S.content,
    essaysStored: false,
    pipelineRequested: false,
    spellcheck: 'none',
    nlp: 'none',
    confidence,
    associations: {},
    timeoutTriggered: false,
    paused: false,
  };
}

/** The language of a course as the domain defines it: ENG courses are English, SV courses Swedish. */
export const languageOf = (course: string): 'en' | 'sv' => (course.startsWith('ENG') ? 'en' : 'sv');
