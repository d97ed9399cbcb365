import { randomUUID } from 'node:crypto';
import {
  type ClassFixture,
  authorMatchesSuggested,
  contentProvisioned,
  essaysReady,
  freshEssays,
  teacherDecisions,
} from '../../bench/events.ts';
import { idempotencyScope } from '../../app/idempotency.ts';
import type { CourseCode } from '../../machines/domain.ts';

/**
 * The bench's event mix over HTTP, as producers and teachers retry it: every client walks batches
 * through content provisioned, author matches suggested, the teacher's two sittings and essays ready;
 * every third batch the teacher never decides, so its deadline comes due during the run. A 503 or a
 * dropped connection is retried (bounded) with the same event_id or Idempotency-Key, on the next API.
 */

export interface Ledger {
  /** Acknowledged (2xx) events and commands: the id processed_events keeps, with their batch. */
  acknowledged: Map<string, string>;
  /** Batches left to their deadline (their match suggestions acknowledged). */
  abandoned: Set<string>;
}

export interface Answers {
  ok: number;
  /** 503 problem+json with a Retry-After header. */
  unavailable: number;
  /** 503 without Retry-After, 500 and any other unexpected answer, as text. */
  bad: string[];
  /** Connections refused, reset or timed out (an API down or killed). */
  dropped: number;
  /** Acknowledged answers per second since the load started. */
  perSecond: number[];
  slowestMs: number;
}

export interface LoadOptions {
  apis: string[];
  serviceToken: string;
  teacher: { sub: string; token: string };
  cls: ClassFixture;
  clients: number;
  essaysPerBatch: number;
}

const REQUEST_TIMEOUT_MS = 30_000;
const GIVE_UP_AFTER_MS = 180_000;

export function startLoad(options: LoadOptions) {
  const ledger: Ledger = { acknowledged: new Map(), abandoned: new Set() };
  const answers: Answers = { ok: 0, unavailable: 0, bad: [], dropped: 0, perSecond: [], slowestMs: 0 };
  const startedAt = Date.now();
  let turn = 0;
  let stopping = false;

  /** One request until it gets a final answer (not 503, not a dropped connection); bounded. */
  async function send(
    path: string,
    body: unknown,
    token: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any }> {
    const giveUp = Date.now() + GIVE_UP_AFTER_MS;
    for (;;) {
      const api = options.apis[turn++ % options.apis.length]!;
      const began = Date.now();
      try {
        const response = await fetch(`${api}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await response.text();
        answers.slowestMs = Math.max(answers.slowestMs, Date.now() - began);
        if (response.status === 503 && response.headers.get('retry-after') !== null) {
          answers.unavailable++;
        } else if (response.status >= 500) {
          answers.bad.push(`${response.status} ${path.replace(/[0-9a-f-]{36}/g, ':id')} ${text.slice(0, 200)}`);
          if (response.status !== 503) return { status: response.status, body: null };
        } else {
          const second = Math.floor((Date.now() - startedAt) / 1000);
          answers.perSecond[second] = (answers.perSecond[second] ?? 0) + 1;
          answers.ok++;
          return { status: response.status, body: text === '' ? null : JSON.parse(text) };
        }
      } catch {
        answers.slowestMs = Math.max(answers.slowestMs, Date.now() - began);
        answers.dropped++;
      }
      if (Date.now() > giveUp) return { status: 0, body: null };
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function event(envelope: { event_id: string; data: { batch_id?: unknown } }, batchId: string): Promise<boolean> {
    const answer = await send('/v1/events', envelope, options.serviceToken);
    if (answer.status === 200) ledger.acknowledged.set(envelope.event_id, batchId);
    return answer.status === 200;
  }

  async function walk(index: number): Promise<void> {
    const { cls, teacher } = options;
    const registered = await send(
      '/v1/batches',
      { course_code: cls.courseCode, class_id: cls.classId, expected_essay_count: options.essaysPerBatch },
      teacher.token,
    );
    if (registered.status !== 201) return;
    const batchId = registered.body.batch_id as string;
    const essays = freshEssays(options.essaysPerBatch);
    if (!(await event(contentProvisioned(batchId, cls, essays), batchId))) return;
    if (!(await event(authorMatchesSuggested(batchId, cls, essays), batchId))) return;
    if (index % 3 === 0) {
      ledger.abandoned.add(batchId);
      return;
    }
    for (const sitting of [1, 2] as const) {
      const key = randomUUID();
      const answer = await send(
        `/v1/batches/${batchId}/student-associations/confirm`,
        { associations: teacherDecisions(cls, essays, sitting) },
        teacher.token,
        {
          'idempotency-key': key,
        },
      );
      // 409: the deadline decided first (a long outage outlasts VALIDATION_TIMEOUT_MS); nothing applied.
      if (answer.status !== 200) return;
      ledger.acknowledged.set(idempotencyScope('confirm', teacher.sub, batchId, key), batchId);
    }
    await event(essaysReady(batchId, cls, essays), batchId);
  }

  let walks = 0;
  const clients = Array.from({ length: options.clients }, async () => {
    while (!stopping) await walk(walks++);
  });

  return {
    ledger,
    answers,
    startedAt,
    /** Acknowledged answers in the whole seconds [from, to) since the load started. */
    throughput: (fromS: number, toS: number) => {
      let sum = 0;
      for (let s = fromS; s < toS; s++) sum += answers.perSecond[s] ?? 0;
      return sum / Math.max(1, toS - fromS);
    },
    async stop() {
      stopping = true;
      await Promise.all(clients);
    },
  };
}

export type Load = ReturnType<typeof startLoad>;

/**
 * The chaos class: one ENG5 class of twelve students, created through the API. `keyed` sends
 * idempotency keys, so a create retried across a fault makes one class.
 */
export async function createChaosClass(base: string, token: string, keyed: boolean): Promise<ClassFixture> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const post = async (path: string, body: unknown, key: string) =>
    (
      await fetch(`${base}${path}`, {
        method: 'POST',
        headers: keyed ? { ...headers, 'idempotency-key': key } : headers,
        body: JSON.stringify(body),
      })
    ).json();
  const created = (await post('/v1/classes', { name: 'Chaos class', course_code: 'ENG5' }, 'chaos-class')) as { class_id: string };
  const students = Array.from({ length: 12 }, (_, i) => ({
    first_name: `Student${i}`,
    last_name: `Chaos${i}`,
    email: `s${i}@chaos.example`,
  }));
  const added = (await post(`/v1/classes/${created.class_id}/students`, { students }, 'chaos-students')) as {
    students: Array<{ student_id: string }>;
  };
  return {
    classId: created.class_id,
    ownerId: 'chaos-teacher',
    courseCode: 'ENG5' as CourseCode,
    studentIds: added.students.map((s) => s.student_id),
  };
}
