import type { Db } from '../db/client.ts';
import type { DeadlineWrite } from '../db/transitions.ts';
import { type ApplyOutcome, type EventRequest, applyEvent } from './apply.ts';
import { type RegisterBatchInput, registerBatch } from './batches.ts';
import { type NewStudent, addStudents, createClass, listStudents } from './classes.ts';
import { teacherDeadlines } from './deadlines.ts';
import { batchHistory, getBatch, listAssociations, listBatches, outboxAfter } from './queries.ts';
import type { CourseCode } from '../machines/domain.ts';

/** Told after commit about every deadline a transition set or cleared: the timer accelerator. */
export type DeadlineListener = (batchId: string, change: Exclude<DeadlineWrite, { kind: 'keep' }>) => void;

export interface ServiceDeps {
  db: Db;
  validationTimeoutMs: number;
  now?: () => Date;
  onDeadlineChange?: DeadlineListener;
}

/** The application layer's face: what adapters (HTTP, jobs, CLI) may call. */
export function createService(deps: ServiceDeps) {
  const now = deps.now ?? (() => new Date());
  const { db } = deps;
  return {
    db,
    now,
    validationTimeoutMs: deps.validationTimeoutMs,
    async apply(request: EventRequest): Promise<ApplyOutcome> {
      const outcome = await applyEvent(db, request, { now });
      if (outcome.kind === 'applied' && outcome.deadline.kind !== 'keep') {
        deps.onDeadlineChange?.(request.batchId, outcome.deadline);
      }
      return outcome;
    },
    registerBatch: (ownerId: string, input: RegisterBatchInput, correlationId: string) =>
      registerBatch(db, ownerId, input, correlationId, now().toISOString()),
    createClass: (ownerId: string, input: { name: string; course_code: CourseCode }) => createClass(db, ownerId, input),
    addStudents: (ownerId: string, classId: string, students: NewStudent[]) => addStudents(db, ownerId, classId, students),
    listStudents: (ownerId: string, classId: string) => listStudents(db, ownerId, classId),
    getBatch: (ownerId: string, batchId: string) => getBatch(db, ownerId, batchId),
    listBatches: (ownerId: string, status?: string) => listBatches(db, ownerId, status),
    listAssociations: (ownerId: string, batchId: string) => listAssociations(db, ownerId, batchId),
    history: (ownerId: string, batchId: string) => batchHistory(db, ownerId, batchId),
    outbox: (after: number, limit: number) => outboxAfter(db, after, limit),
    deadlines: (ownerId: string, before?: string) => teacherDeadlines(db, ownerId, before),
  };
}

export type Service = ReturnType<typeof createService>;
