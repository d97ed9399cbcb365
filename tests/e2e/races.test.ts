import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeoutEventId } from '../../app/commands.ts';
import { DEADLINE_JOB } from '../../jobs/timers.ts';
import { TOPICS } from '../../machines/events.ts';
import { freePort } from '../../scripts/chaos/postgres-cluster.ts';
import { type ServiceProcess, serviceProcess } from '../../scripts/chaos/processes.ts';
import { teacherToken } from '../../server/auth.ts';
import { databaseForSuite } from '../support/db.ts';
import { REDIS_URL } from '../support/env.ts';
import { essays, essaysReady, provisioned, suggested } from '../support/flow.ts';
import { eventually } from '../support/poll.ts';
import { suiteTimers } from '../support/suite-timers.ts';

/**
 * The published race policy (README, "Race policy"): every row of its table is one entry of races()
 * below, raced ROUNDS times through two API processes and two worker processes on the real
 * PostgreSQL and Redis, once with BullMQ timers and the sweeps firing the deadline and once with
 * the sweeps alone (FIRINGS). Each round has a batch of its own, set up so both contenders apply;
 * the teacher's contender goes to an API in turn, at the deadline plus an offset that walks from
 * before it to after it (or, between two teacher commands, both at once, the first one alternating).
 * Whoever commits first wins; the test reads who did from the history, then holds the round to that
 * outcome of the row's policy: the answers (the loser's 409 problem+json and its detail), the
 * applied / refused / late history entries, the outbox (exactly the winner's envelopes, or the
 * winner's then those of the one applied after it), the associations and state, that no deadline
 * fired twice, and, with Redis, that a timer of the raced deadline delivered again is refused or a
 * duplicate. A new race (pause, resume) is one more entry: its command in PATHS and EVENT_TYPES,
 * its setup, and its outcomes.
 */

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 12);
/** Far enough that no deadline comes due while rounds are set up, however loaded the machine; a race moves its own. */
const VALIDATION_TIMEOUT_MS = 600_000;
/** The raced deadline is moved to this long after the rounds are set up (plus 20 ms a round). */
const RACE_DEADLINE_IN_MS = 2000;
const TEACHER = 'teacher-a';

type Setup = 'awaiting' | 'ready';
type Command = 'confirm' | 'deadline' | 'correct' | 'cancel' | 'pipeline' | 'pause' | 'resume';

/** One round's batch: essay A suggested at 0.95 (the deadline keeps it), B at 0.4 (the deadline sends it to UNKNOWN). */
interface Round {
  index: number;
  batchId: string;
  essayA: string;
  essayB: string;
  /** The pending deadline's version and due time when the race starts. */
  deadlineVersion: number;
  dueAt: number;
  /** Outbox and history rows up to here are the setup's. */
  outboxSeq: number;
  historySeq: number;
}

interface Contender {
  command: Command;
  body: (r: Round) => unknown;
}

/** What a round's outcome must look like, once history says who won. */
interface Outcome {
  /** The HTTP status each teacher contender gets, in the row's order. */
  answers: number[];
  /** The loser's 409 detail, when it is refused. */
  refusal?: RegExp;
  state: string;
  /** Association status of A and B afterwards (null: not checked). */
  associations: { A: string; B: string } | null;
  /** The outbox rows the round added, in commit order, as signatures (see signature()). */
  outbox: string[];
  /** The deadline's timer, when it ran after losing: how its late (or refused) entry reads. */
  lateReason?: RegExp;
  /** A timer of the raced deadline version delivered again now (Redis kept a cancelled job): its outcome. */
  replayedTimer?: 'refused' | 'duplicate';
}

interface Race {
  name: string;
  setup: Setup;
  /** The teacher's commands in the race; with `deadline`, they race the deadline firing. */
  contenders: Contender[];
  deadline: boolean;
  /** What sets the raced deadline to fall at `at` (part of the setup); by default the teacher moves it there. */
  arm?: { command: Command; body: (at: string) => unknown };
  /** The applied sequence after setup (event types joined by ' > ') → what the round must show. */
  policy: Record<string, Outcome>;
}

// The outbox rows one transition adds, as signatures.
const updated = (essay: 'A' | 'B') => `${TOPICS.associationUpdated}:${essay}`;
const notice = (type: string) => `${TOPICS.teacherNotification}:${type}`;
const CONFIRMED = [TOPICS.associationsConfirmed, notice('student_associations_confirmed')];
/** The deadline deciding both pending essays, then validation completing. */
const TIMEOUT_BOTH = [updated('A'), updated('B'), TOPICS.timeoutProcessed, notice('validation_timeout_processed'), ...CONFIRMED];
/** The deadline deciding B alone (A was decided by the teacher). */
const TIMEOUT_B = [updated('B'), TOPICS.timeoutProcessed, notice('validation_timeout_processed'), ...CONFIRMED];
const CORRECTED_B = [updated('B'), notice('student_associations_confirmed')];
const PIPELINE_STARTED = [TOPICS.spellcheckCommand, notice('batch_processing_started')];

/** Where a round ends: the state, A and B, and the outbox rows the round added. */
const DECIDED_BY_TEACHER = {
  state: 'student_validation_completed',
  associations: { A: 'confirmed', B: 'confirmed' },
  outbox: [updated('A'), updated('B'), ...CONFIRMED],
};
const DECIDED_BY_DEADLINE = {
  state: 'student_validation_completed',
  associations: { A: 'timeout_confirmed', B: 'no_match' },
  outbox: TIMEOUT_BOTH,
};
const STILL_WAITING = {
  state: 'awaiting_student_validation.awaiting_teacher',
  associations: { A: 'pending_validation', B: 'pending_validation' },
  outbox: [],
};

const REFUSED = 409;
const ALREADY_COMPLETED = /validation already completed/;
const STALE_VERSION = /stale deadline version 2 \(current 3\)/;
const NO_MORE_DECISIONS = /state student_validation_completed, which does not accept TEACHER_DECISIONS/;

/** Confirms both essays: A as suggested, B to student 1 (not its suggestion). */
const confirmBoth = (students: string[]) => (r: Round) => ({
  associations: [
    { essay_id: r.essayA, confirmed: true },
    { essay_id: r.essayB, student_id: students[1], confirmed: true },
  ],
});

/**
 * A command that keeps validation open (`event`), raced against the teacher deciding every pending
 * essay: applied first, both apply; applied second, validation is over and it is refused.
 */
const againstDecidingEverything = (students: string[], label: string, contender: Contender, event: string): Race => ({
  name: `${label} vs a decision on every pending essay`,
  setup: 'awaiting',
  deadline: false,
  contenders: [contender, { command: 'confirm', body: confirmBoth(students) }],
  policy: {
    [`${event} > TEACHER_DECISIONS`]: { answers: [200, 200], ...DECIDED_BY_TEACHER },
    TEACHER_DECISIONS: {
      answers: [REFUSED, 200],
      refusal: new RegExp(`state student_validation_completed, which does not accept ${event}`),
      ...DECIDED_BY_TEACHER,
    },
  },
});

function races(students: string[]): Race[] {
  return [
    {
      name: "teacher's decision on every pending essay vs the deadline",
      setup: 'awaiting',
      deadline: true,
      contenders: [{ command: 'confirm', body: confirmBoth(students) }],
      policy: {
        TEACHER_DECISIONS: {
          answers: [200],
          ...DECIDED_BY_TEACHER,
          lateReason: ALREADY_COMPLETED,
        },
        VALIDATION_TIMEOUT: {
          answers: [REFUSED],
          refusal: NO_MORE_DECISIONS,
          ...DECIDED_BY_DEADLINE,
        },
      },
    },
    {
      name: "teacher's decision on some essays vs the deadline",
      setup: 'awaiting',
      deadline: true,
      contenders: [{ command: 'confirm', body: (r) => ({ associations: [{ essay_id: r.essayA, confirmed: true }] }) }],
      policy: {
        'TEACHER_DECISIONS > VALIDATION_TIMEOUT': {
          answers: [200],
          state: 'student_validation_completed',
          associations: { A: 'confirmed', B: 'no_match' },
          outbox: [updated('A'), ...TIMEOUT_B],
        },
        VALIDATION_TIMEOUT: {
          answers: [REFUSED],
          refusal: NO_MORE_DECISIONS,
          ...DECIDED_BY_DEADLINE,
        },
      },
    },
    {
      name: 'deadline extension vs the deadline',
      setup: 'awaiting',
      deadline: true,
      contenders: [{ command: 'deadline', body: () => ({ extend_by_ms: 3_600_000 }) }],
      policy: {
        DEADLINE_CHANGED: {
          answers: [200],
          ...STILL_WAITING,
          lateReason: STALE_VERSION,
          replayedTimer: 'refused',
        },
        VALIDATION_TIMEOUT: {
          answers: [REFUSED],
          refusal: /state student_validation_completed, which does not accept DEADLINE_CHANGED/,
          ...DECIDED_BY_DEADLINE,
          replayedTimer: 'duplicate',
        },
      },
    },
    {
      name: 'correction vs the deadline',
      setup: 'awaiting',
      deadline: true,
      contenders: [
        {
          command: 'correct',
          body: (r) => ({ corrections: [{ essay_id: r.essayB, student_id: students[1], reason: 'it is Student1s essay' }] }),
        },
      ],
      policy: {
        'VALIDATION_TIMEOUT > TEACHER_CORRECTED': {
          answers: [200],
          state: 'student_validation_completed',
          associations: { A: 'timeout_confirmed', B: 'confirmed' },
          outbox: [...TIMEOUT_BOTH, ...CORRECTED_B],
        },
        VALIDATION_TIMEOUT: {
          answers: [REFUSED],
          refusal: /state awaiting_student_validation.awaiting_teacher, which does not accept TEACHER_CORRECTED/,
          ...DECIDED_BY_DEADLINE,
        },
      },
    },
    {
      name: 'cancellation vs the deadline',
      setup: 'awaiting',
      deadline: true,
      contenders: [{ command: 'cancel', body: () => ({ reason: 'wrong essays' }) }],
      policy: {
        CANCEL: {
          answers: [200],
          state: 'cancelled',
          associations: { A: 'pending_validation', B: 'pending_validation' },
          outbox: [],
          lateReason: ALREADY_COMPLETED,
        },
        'VALIDATION_TIMEOUT > CANCEL': {
          answers: [200],
          state: 'cancelled',
          associations: { A: 'timeout_confirmed', B: 'no_match' },
          outbox: TIMEOUT_BOTH,
        },
      },
    },
    {
      name: 'two conflicting decisions on the same essays (two tabs, two APIs)',
      setup: 'awaiting',
      deadline: false,
      contenders: [
        { command: 'confirm', body: confirmBoth(students) },
        {
          command: 'confirm',
          body: (r) => ({
            associations: [
              { essay_id: r.essayA, confirmed: false },
              { essay_id: r.essayB, confirmed: false },
            ],
          }),
        },
      ],
      policy: {
        'TEACHER_DECISIONS:first': {
          answers: [200, REFUSED],
          refusal: NO_MORE_DECISIONS,
          ...DECIDED_BY_TEACHER,
        },
        'TEACHER_DECISIONS:second': {
          answers: [REFUSED, 200],
          refusal: NO_MORE_DECISIONS,
          state: 'student_validation_completed',
          associations: { A: 'rejected', B: 'rejected' },
          outbox: [updated('A'), updated('B'), ...CONFIRMED],
        },
      },
    },
    againstDecidingEverything(
      students,
      'deadline extension',
      { command: 'deadline', body: () => ({ extend_by_ms: 3_600_000 }) },
      'DEADLINE_CHANGED',
    ),
    {
      name: 'correction vs pipeline request',
      setup: 'ready',
      deadline: false,
      contenders: [
        { command: 'correct', body: (r) => ({ corrections: [{ essay_id: r.essayB, student_id: students[0], reason: 'mixed up' }] }) },
        { command: 'pipeline', body: () => ({ pipeline: 'nlp' }) },
      ],
      policy: {
        [`TEACHER_CORRECTED > ${TOPICS.pipelineRequest}`]: {
          answers: [200, 202],
          state: 'ready_for_pipeline_execution',
          associations: { A: 'confirmed', B: 'confirmed' },
          outbox: [...CORRECTED_B, ...PIPELINE_STARTED],
        },
        [TOPICS.pipelineRequest]: {
          answers: [REFUSED, 202],
          refusal: /a pipeline was requested; the authors can no longer be corrected/,
          state: 'ready_for_pipeline_execution',
          associations: { A: 'confirmed', B: 'confirmed' },
          outbox: PIPELINE_STARTED,
        },
      },
    },
    {
      name: 'cancellation vs pipeline request',
      setup: 'ready',
      deadline: false,
      contenders: [
        { command: 'cancel', body: () => ({ reason: 'wrong essays' }) },
        { command: 'pipeline', body: () => ({ pipeline: 'nlp' }) },
      ],
      policy: {
        CANCEL: {
          answers: [200, REFUSED],
          refusal: /state cancelled, which does not accept huleedu.commands.batch.pipeline.v1/,
          state: 'cancelled',
          associations: null,
          outbox: [],
        },
        [TOPICS.pipelineRequest]: {
          answers: [REFUSED, 202],
          refusal: /accepts CANCEL, but refused this one/,
          state: 'ready_for_pipeline_execution',
          associations: null,
          outbox: PIPELINE_STARTED,
        },
      },
    },
    {
      name: 'pause vs the deadline',
      setup: 'awaiting',
      deadline: true,
      contenders: [{ command: 'pause', body: () => ({ reason: 'on sick leave' }) }],
      policy: {
        VALIDATION_PAUSED: {
          answers: [200],
          ...STILL_WAITING,
          lateReason: /the validation deadline is paused; it does not fire while paused/,
          replayedTimer: 'refused',
        },
        VALIDATION_TIMEOUT: {
          answers: [REFUSED],
          // Refused once due, before the timeout committed (nothing left to pause) and after it (validation is over).
          refusal: /accepts VALIDATION_PAUSED, but refused this one|which does not accept VALIDATION_PAUSED/,
          ...DECIDED_BY_DEADLINE,
          replayedTimer: 'duplicate',
        },
      },
    },
    {
      name: "resume vs the pause's end",
      setup: 'awaiting',
      deadline: true,
      // The raced deadline is the end of a pause: its firing resumes the validation.
      arm: { command: 'pause', body: (until) => ({ until, reason: 'away' }) },
      contenders: [{ command: 'resume', body: () => ({}) }],
      policy: {
        VALIDATION_RESUMED: {
          answers: [200],
          ...STILL_WAITING,
          // A resumed validation has a deadline of the next version: the end's firing is a stale timeout.
          lateReason: STALE_VERSION,
          replayedTimer: 'refused',
        },
        'VALIDATION_RESUMED (timer)': {
          answers: [REFUSED],
          refusal: /accepts VALIDATION_RESUMED, but refused this one/,
          ...STILL_WAITING,
          replayedTimer: 'duplicate',
        },
      },
    },
    againstDecidingEverything(students, 'pause', { command: 'pause', body: () => ({ reason: 'on sick leave' }) }, 'VALIDATION_PAUSED'),
    {
      name: 'pause vs deadline extension',
      setup: 'awaiting',
      deadline: false,
      contenders: [
        { command: 'pause', body: () => ({ reason: 'on sick leave' }) },
        { command: 'deadline', body: () => ({ extend_by_ms: 3_600_000 }) },
      ],
      policy: {
        VALIDATION_PAUSED: {
          answers: [200, REFUSED],
          refusal: /accepts DEADLINE_CHANGED, but refused this one/,
          ...STILL_WAITING,
        },
        'DEADLINE_CHANGED > VALIDATION_PAUSED': {
          answers: [200, 200],
          ...STILL_WAITING,
        },
      },
    },
  ];
}

const PATHS: Record<Command, string> = {
  confirm: 'student-associations/confirm',
  deadline: 'deadline',
  correct: 'student-associations/correct',
  cancel: 'cancel',
  pipeline: 'pipelines',
  pause: 'deadline/pause',
  resume: 'deadline/resume',
};
const EVENT_TYPES: Record<Command, string> = {
  confirm: 'TEACHER_DECISIONS',
  deadline: 'DEADLINE_CHANGED',
  correct: 'TEACHER_CORRECTED',
  cancel: 'CANCEL',
  pipeline: TOPICS.pipelineRequest,
  pause: 'VALIDATION_PAUSED',
  resume: 'VALIDATION_RESUMED',
};

interface Answer {
  status: number;
  type: string | null;
  body: any;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

/**
 * How a configuration fires deadlines. `bullmq`: the APIs schedule BullMQ timers and both workers
 * consume them, while both workers' sweeps (every 200 ms) compete with them. `sweep`: no Redis;
 * the two workers' database sweeps alone fire the deadlines (SKIP LOCKED claims and leases keep
 * them apart), so the teacher's offsets span the sweep's interval.
 */
interface Firing {
  name: 'bullmq' | 'sweep';
  label: string;
  /** The teacher contender's offsets from the deadline, first round to last (ms). */
  offsets: [number, number];
}

const FIRINGS: Firing[] = [
  // A delayed BullMQ job runs some tens of ms after its time: the offsets reach past that.
  { name: 'bullmq', label: 'BullMQ timers and sweeps fire the deadline', offsets: [-60, 160] },
  { name: 'sweep', label: 'the database sweeps alone fire the deadline (no Redis)', offsets: [-60, 260] },
];

describe.each(FIRINGS)('the race policy, through two API processes and two workers: $label', (firing) => {
  const db = databaseForSuite(`races-${firing.name}`);
  const queue = suiteTimers(`races-${firing.name}`);
  const redis = firing.name === 'bullmq';
  const jwtSecret = randomBytes(32).toString('hex');
  const serviceToken = `svc_${randomBytes(16).toString('hex')}`;
  let apis: ServiceProcess[] = [];
  let workers: ServiceProcess[] = [];
  let sql: postgres.Sql;
  let teacher: string;
  let classId: string;
  let students: string[];
  let turn = 0;

  async function call(api: number, method: string, path: string, token: string, body?: unknown): Promise<Answer> {
    const response = await fetch(`${apis[api % apis.length]!.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type'), body: text ? JSON.parse(text) : null };
  }
  const asTeacher = (method: string, path: string, body?: unknown, api = turn++) => call(api, method, path, teacher, body);
  async function event(envelope: unknown): Promise<void> {
    const answer = await call(turn++, 'POST', '/v1/events', serviceToken, envelope);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  }

  beforeAll(async () => {
    const shared = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      INTERNAL_PORT: '0',
      DATABASE_URL: db.url,
      REDIS_URL: redis ? REDIS_URL : undefined,
      QUEUE_PREFIX: queue.prefix,
      STREAM_PREFIX: `${queue.prefix}-`,
      JWT_SECRET: jwtSecret,
      SERVICE_TOKEN: serviceToken,
      VALIDATION_TIMEOUT_MS: String(VALIDATION_TIMEOUT_MS),
      // Both workers' sweeps compete with the BullMQ timers for every deadline.
      SWEEP_INTERVAL_MS: '200',
      // No reminders: the outbox of a round holds the race's envelopes only.
      VALIDATION_REMINDER_BEFORE_MS: '0',
      DATA_DIR: undefined,
      KAFKA_BROKERS: undefined,
    };
    apis = await Promise.all([1, 2].map(async (i) => serviceProcess(`api-${i}`, { ...shared, ROLE: 'api' }, await freePort())));
    workers = [1, 2].map((i) => serviceProcess(`worker-${i}`, { ...shared, ROLE: 'worker', LOG_LEVEL: 'info' }, null));
    await apis[0]!.start(); // migrates first
    await Promise.all([apis[1]!, ...workers].map((p) => p.start()));
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    teacher = await teacherToken(jwtSecret, TEACHER);
    const created = await asTeacher('POST', '/v1/classes', { name: 'Races', course_code: 'ENG5' });
    classId = created.body.class_id;
    const added = await asTeacher('POST', `/v1/classes/${classId}/students`, {
      students: [0, 1, 2].map((i) => ({ first_name: `Student${i}`, last_name: 'Race', email: `s${i}@race.example` })),
    });
    students = (added.body.students as Array<{ student_id: string }>).map((s) => s.student_id);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...apis, ...workers].map((p) => p.stop()));
    await sql?.end();
  });

  /** A batch in the state the race needs, spread over both APIs. */
  async function setUp(index: number, setup: Setup): Promise<Round> {
    const registered = await asTeacher('POST', '/v1/batches', { course_code: 'ENG5', class_id: classId, expected_essay_count: 2 });
    expect(registered.status).toBe(201);
    const batchId = registered.body.batch_id as string;
    // A before B in essay-id order: a deadline announces its decisions in that order (db/actor-load.ts).
    const list = essays(2).sort((x, y) => (x.essay_id < y.essay_id ? -1 : 1));
    const [a, b] = list as [(typeof list)[0], (typeof list)[0]];
    await event(provisioned(batchId, list));
    await event(
      suggested(batchId, classId, [
        { essay: a, student_id: students[0], score: 0.95 },
        { essay: b, student_id: students[2], score: 0.4 },
      ]),
    );
    if (setup === 'ready') {
      const decided = await asTeacher('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
        associations: [
          { essay_id: a.essay_id, confirmed: true },
          { essay_id: b.essay_id, confirmed: true },
        ],
      });
      expect(decided.status).toBe(200);
      await event(essaysReady(batchId, list, 'REGULAR'));
    }
    const batch = await asTeacher('GET', `/v1/batches/${batchId}`);
    expect(batch.body.status).toBe(setup === 'ready' ? 'ready_for_pipeline_execution' : 'awaiting_student_validation');
    return marked({ index, batchId, essayA: a.essay_id, essayB: b.essay_id, deadlineVersion: 1, dueAt: Number.NaN });
  }

  /** The round with its setup's last outbox and history rows marked. */
  async function marked(r: Omit<Round, 'outboxSeq' | 'historySeq'>): Promise<Round> {
    const [marks] = await sql`SELECT (SELECT coalesce(max(seq), 0) FROM outbox WHERE batch_id = ${r.batchId})::int AS outbox,
                                     (SELECT coalesce(max(seq), 0) FROM history WHERE batch_id = ${r.batchId})::int AS history`;
    return { ...r, outboxSeq: marks!.outbox, historySeq: marks!.history };
  }

  /** The round's deadline set to fall at `at` (part of the setup; by default the teacher moves it): the raced deadline is version 2. */
  async function deadlineAt(race: Race, r: Round, at: number): Promise<Round> {
    const arm = race.arm ?? { command: 'deadline', body: (due: string) => ({ due_at: due }) };
    const moved = await asTeacher('POST', `/v1/batches/${r.batchId}/${PATHS[arm.command]}`, arm.body(new Date(at).toISOString()));
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    return marked({ ...r, deadlineVersion: 2, dueAt: at });
  }

  /** When the round's teacher contenders go: at the deadline plus the firing's offsets, or together with a stagger. */
  function schedule(race: Race, r: Round): number[] {
    const [from, to] = firing.offsets;
    if (race.deadline) return [r.dueAt + from + Math.round(((to - from) * r.index) / Math.max(1, ROUNDS - 1))];
    const start = Date.now() + 50;
    const stagger = (r.index % 3) * 3; // 0, 3, 6 ms
    return r.index % 2 === 0 ? [start, start + stagger] : [start + stagger, start];
  }

  async function deadlineSettled(r: Round): Promise<void> {
    await eventually(
      async () => {
        const [row] = await sql`SELECT 1 FROM deadlines WHERE batch_id = ${r.batchId} AND version = ${r.deadlineVersion}`;
        if (row) return false;
        if (!redis) return true;
        const job = await queue.timers.queue.getJob(timeoutEventId(r.batchId, r.deadlineVersion));
        const state = job ? await job.getState() : 'gone';
        return ['gone', 'completed', 'failed', 'unknown'].includes(state);
      },
      20_000,
      50,
    );
    // A sweeper that claimed the row before it went may still be writing its late entry.
    await sleep(400);
  }

  /** A timer of the raced version, delivered again as if Redis had kept the job the move cancelled. */
  async function replayTimer(r: Round): Promise<string> {
    const job = await queue.timers.queue.add(
      DEADLINE_JOB,
      { batch_id: r.batchId, deadline_version: r.deadlineVersion },
      { jobId: `replay-${r.batchId}`, attempts: 3, backoff: { type: 'fixed', delay: 200 } },
    );
    return eventually(
      async () => {
        const state = await job.getState();
        if (state !== 'completed') return null;
        const done = await queue.timers.queue.getJob(job.id!);
        return (done?.returnvalue as { outcome: string } | undefined)?.outcome ?? null;
      },
      20_000,
      50,
    );
  }

  async function runRound(race: Race, r: Round) {
    const times = schedule(race, r);
    const answers = await Promise.all(
      race.contenders.map(async (c, i) => {
        await sleepUntil(times[i]!);
        // Contenders go to different APIs; which one alternates with the round.
        return asTeacher('POST', `/v1/batches/${r.batchId}/${PATHS[c.command]}`, c.body(r), r.index + i);
      }),
    );
    if (race.deadline) await deadlineSettled(r);
    const history = await sql`SELECT event_type, event_id, actor, outcome, reason, detail FROM history
                              WHERE batch_id = ${r.batchId} AND seq > ${r.historySeq} ORDER BY seq`;
    // The deadline's firing is VALIDATION_TIMEOUT; any other event a timer fired is marked as the timer's.
    const applied = history
      .filter((h) => h.outcome === 'applied')
      .map((h) => (h.actor === 'timeout' && h.event_type !== 'VALIDATION_TIMEOUT' ? `${h.event_type} (timer)` : (h.event_type as string)));
    let key = applied.join(' > ');
    // Two contenders of one kind: which one won, read from the answers.
    if (race.contenders.length === 2 && race.contenders[0]!.command === race.contenders[1]!.command && applied.length === 1) {
      key = `${key}:${answers[0]!.status === 200 ? 'first' : 'second'}`;
    }
    const outcome = race.policy[key];
    expect(
      outcome,
      `round ${r.index}: applied ${JSON.stringify(key)}, not in the policy; answers ${answers.map((a) => a.status)}`,
    ).toBeDefined();
    const o = outcome!;

    // The answers: the winner's success, the loser's documented refusal.
    expect(answers.map((a) => a.status)).toEqual(o.answers);
    race.contenders.forEach((c, i) => {
      const a = answers[i]!;
      if (a.status !== REFUSED) return;
      expect(a.type).toContain('application/problem+json');
      expect(a.body).toMatchObject({ status: 409, title: 'Transition refused', event: EVENT_TYPES[c.command] });
      expect(a.body.detail).toMatch(o.refusal!);
      // The refusal is in the history too, under the teacher's name.
      const refused = history.filter((h) => h.outcome === 'refused' && h.event_type === EVENT_TYPES[c.command] && h.actor === TEACHER);
      expect(refused.length).toBeGreaterThanOrEqual(1);
    });
    // Nothing else was refused, and nothing applied twice.
    const refusedCount = history.filter((h) => h.outcome === 'refused' && h.actor === TEACHER).length;
    expect(refusedCount).toBe(answers.filter((a) => a.status === REFUSED).length);

    // The deadline fired at most once; when it lost, it either never ran (cancelled) or is late, with its reason.
    const timeouts = history.filter((h) => h.actor === 'timeout');
    const appliedTimeouts = timeouts.filter((h) => h.outcome === 'applied');
    expect(appliedTimeouts.length).toBeLessThanOrEqual(1);
    const late = timeouts.filter((h) => h.outcome !== 'applied');
    if (appliedTimeouts.length === 1) {
      expect(appliedTimeouts[0]!.event_id).toBe(timeoutEventId(r.batchId, r.deadlineVersion));
      expect(late).toEqual([]);
    }
    for (const entry of late) expect(entry.reason).toMatch(o.lateReason ?? /^never late$/);

    // The outbox holds the winner's envelopes (and what applied after it), in commit order, and nothing else.
    const outbox =
      await sql`SELECT topic, envelope FROM outbox_messages WHERE batch_id = ${r.batchId} AND seq > ${r.outboxSeq} ORDER BY position, seq, idx`;
    const signature = (row: { topic: string; envelope: any }) => {
      const data = row.envelope.data;
      if (row.topic === TOPICS.teacherNotification) return notice(data.notification_type);
      if (row.topic === TOPICS.associationUpdated) return updated(data.essay_id === r.essayA ? 'A' : 'B');
      return row.topic;
    };
    expect(outbox.map((row) => signature(row as never))).toEqual(o.outbox);

    const batch = await asTeacher('GET', `/v1/batches/${r.batchId}`);
    expect(batch.body.state).toBe(o.state);
    if (o.associations) {
      const listed = await asTeacher('GET', `/v1/batches/${r.batchId}/student-associations`);
      const status = new Map((listed.body.associations as any[]).map((a) => [a.essay_id, a.validation_status]));
      expect({ A: status.get(r.essayA), B: status.get(r.essayB) }).toEqual(o.associations);
    }
    if (o.replayedTimer && redis) {
      expect(await replayTimer(r)).toBe(o.replayedTimer);
      const after = await asTeacher('GET', `/v1/batches/${r.batchId}`);
      expect(after.body.state).toBe(o.state);
      const [added] = await sql`SELECT count(*)::int AS n FROM outbox_messages WHERE batch_id = ${r.batchId} AND seq > ${r.outboxSeq}`;
      expect(added!.n).toBe(o.outbox.length);
    }
    const firedBy = appliedTimeouts[0]?.detail?.fired_by ?? late[0]?.detail?.fired_by ?? null;
    return { key, firedBy: firedBy as string | null, late: late.length };
  }

  const tally = new Map<string, string[]>();
  const RACE_NAMES = races([]).map((r) => r.name);
  for (const [i, name] of RACE_NAMES.entries()) {
    // Without Redis only the deadline's firing changes: the races between two teacher commands run once.
    if (!redis && !races([])[i]!.deadline) continue;
    it(name, async () => {
      const race = races(students)[i]!;
      let rounds = await Promise.all(Array.from({ length: ROUNDS }, (_, index) => setUp(index, race.setup)));
      if (race.deadline) {
        const base = Date.now() + RACE_DEADLINE_IN_MS;
        rounds = await Promise.all(rounds.map((r) => deadlineAt(race, r, base + 20 * r.index)));
        // Every round's deadline is still ahead of its first contender.
        for (const r of rounds) expect(r.dueAt + firing.offsets[0]).toBeGreaterThan(Date.now());
      }
      const results = await Promise.all(rounds.map((r) => runRound(race, r)));
      const counts = new Map<string, number>();
      for (const { key } of results) counts.set(key, (counts.get(key) ?? 0) + 1);
      const fired = results.flatMap((r) => r.firedBy ?? []);
      tally.set(name, [
        ...[...counts].map(([k, n]) => `${k}: ${n}`),
        ...(race.deadline ? [`late timeouts ${results.reduce((n, r) => n + r.late, 0)}`] : []),
        ...(fired.length
          ? [`deadline fired by ${[...new Set(fired)].map((f) => `${f} ${fired.filter((x) => x === f).length}`).join(', ')}`]
          : []),
      ]);
      console.log(`[races ${firing.name}] ${name}: ${tally.get(name)!.join('; ')}`);
    }, 60_000);
  }

  it('left no deadline applied twice, and no process exited', async () => {
    const twice = await sql`SELECT event_id FROM history WHERE outcome = 'applied' AND event_type = 'VALIDATION_TIMEOUT'
                            GROUP BY event_id HAVING count(*) > 1`;
    expect(twice).toEqual([]);
    for (const p of [...apis, ...workers]) expect(p.unexpectedExits).toEqual([]);
  });
});
