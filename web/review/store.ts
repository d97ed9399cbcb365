import { createStore } from '@xstate/store';
import type { Association, BatchView, ClassSummary, Deadline, HistoryRow, OperatorNumbers, Student } from './types.ts';

/**
 * The page's client state: who is signed in, which view is open, what the API and the stream
 * said, and the actions in flight with their answers. One store with named transitions; the
 * page renders from its snapshot and never keeps state of its own. The durable lifecycle is
 * the server's statechart, never this.
 */

export type Auth = { kind: 'teacher'; token: string; teacher_id: string } | { kind: 'service'; token: string };

export type View = { name: 'signin' } | { name: 'batches' } | { name: 'batch'; batchId: string } | { name: 'operator' };

export type ActionKind = 'confirm' | 'correct' | 'reject' | 'confirm_high' | 'extend';

export interface PendingAction {
  /** Also the request's Idempotency-Key: a retry of the same intent can never act twice. */
  key: string;
  kind: ActionKind;
  batchId: string;
  essayIds: string[];
  status: 'sending' | 'answered' | 'failed';
  /** Per-item outcomes of the answer, by essay id; or the problem's detail. */
  results: Record<string, string>;
  message: string | null;
}

export interface BatchDetail {
  batchId: string;
  batch: BatchView | null;
  associations: Association[];
  history: HistoryRow[];
  roster: Student[];
  /** The newest stream id seen: sent back as Last-Event-ID on a reconnect. */
  lastEventId: number;
  connection: 'connecting' | 'open' | 'retrying' | 'closed';
}

export interface ReviewContext {
  auth: Auth | null;
  view: View;
  developmentTeachers: Array<{ teacher_id: string; token: string }>;
  stuckAfterMs: number;
  batches: BatchView[];
  deadlines: Deadline[];
  classes: ClassSummary[];
  detail: BatchDetail | null;
  /** The student chosen in each row's "correct to" list, by essay id. */
  corrections: Record<string, string>;
  actions: Record<string, PendingAction>;
  operator: OperatorNumbers | null;
  error: string | null;
  now: number;
}

export const initialContext = (now: number): ReviewContext => ({
  auth: null,
  view: { name: 'signin' },
  developmentTeachers: [],
  stuckAfterMs: 3_600_000,
  batches: [],
  deadlines: [],
  classes: [],
  detail: null,
  corrections: {},
  actions: {},
  operator: null,
  error: null,
  now,
});

/** Essays that an action still in flight is about: their buttons are disabled. */
export function busyEssays(context: ReviewContext): Set<string> {
  const busy = new Set<string>();
  for (const a of Object.values(context.actions)) if (a.status === 'sending') for (const e of a.essayIds) busy.add(e);
  return busy;
}

function mergeHistory(known: HistoryRow[], more: HistoryRow[]): HistoryRow[] {
  const bySeq = new Map(known.map((h) => [h.seq, h]));
  for (const h of more) bySeq.set(h.seq, h);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

const forBatch = (context: ReviewContext, batchId: string) => context.detail !== null && context.detail.batchId === batchId;

export function createReviewStore(now = Date.now()) {
  return createStore({
    context: initialContext(now),
    on: {
      configured: (context, event: { developmentTeachers: ReviewContext['developmentTeachers']; stuckAfterMs: number }) => ({
        ...context,
        developmentTeachers: event.developmentTeachers,
        stuckAfterMs: event.stuckAfterMs,
      }),
      signedIn: (context, event: { auth: Auth }) => ({
        ...context,
        auth: event.auth,
        error: null,
        view: event.auth.kind === 'service' ? ({ name: 'operator' } as const) : ({ name: 'batches' } as const),
      }),
      signedOut: (context) => ({ ...initialContext(context.now), developmentTeachers: context.developmentTeachers, stuckAfterMs: context.stuckAfterMs }),
      navigated: (context, event: { view: View }) => {
        if (context.auth === null && event.view.name !== 'signin') return { ...context, view: { name: 'signin' } as const };
        const detail =
          event.view.name === 'batch'
            ? forBatch(context, event.view.batchId)
              ? context.detail
              : { batchId: event.view.batchId, batch: null, associations: [], history: [], roster: [], lastEventId: 0, connection: 'connecting' as const }
            : null;
        return { ...context, view: event.view, detail, error: null };
      },
      batchesLoaded: (context, event: { batches: BatchView[]; deadlines: Deadline[]; classes: ClassSummary[] }) => ({
        ...context,
        batches: event.batches,
        deadlines: event.deadlines,
        classes: event.classes,
      }),
      rosterLoaded: (context, event: { batchId: string; roster: Student[] }) =>
        forBatch(context, event.batchId) ? { ...context, detail: { ...context.detail!, roster: event.roster } } : context,
      streamOpened: (context, event: { batchId: string }) =>
        forBatch(context, event.batchId) ? { ...context, detail: { ...context.detail!, connection: 'open' as const } } : context,
      streamDropped: (context, event: { batchId: string; final: boolean }) =>
        forBatch(context, event.batchId)
          ? { ...context, detail: { ...context.detail!, connection: event.final ? ('closed' as const) : ('retrying' as const) } }
          : context,
      historyArrived: (context, event: { batchId: string; id: number; row: HistoryRow }) => {
        if (!forBatch(context, event.batchId)) return context;
        const d = context.detail!;
        return { ...context, detail: { ...d, history: mergeHistory(d.history, [event.row]), lastEventId: Math.max(d.lastEventId, event.id) } };
      },
      batchArrived: (context, event: { batchId: string; id: number; batch: BatchView; associations: Association[] }) => {
        if (!forBatch(context, event.batchId)) return context;
        const d = context.detail!;
        const batches = context.batches.map((b) => (b.batch_id === event.batchId ? event.batch : b));
        return {
          ...context,
          batches,
          detail: { ...d, batch: event.batch, associations: event.associations, lastEventId: Math.max(d.lastEventId, event.id) },
        };
      },
      correctionPicked: (context, event: { essayId: string; studentId: string }) => ({
        ...context,
        corrections: { ...context.corrections, [event.essayId]: event.studentId },
      }),
      /** Refused (returns nothing) while an action on one of the same essays is in flight: no double submit. */
      actionStarted: (context, event: { key: string; kind: ActionKind; batchId: string; essayIds: string[] }) => {
        if (context.actions[event.key]) return;
        if (event.kind !== 'extend' && event.essayIds.length === 0) return;
        const sending = Object.values(context.actions).filter((a) => a.status === 'sending' && a.batchId === event.batchId);
        if (sending.some((a) => a.kind === event.kind && (a.kind === 'extend' || a.kind === 'confirm_high'))) return;
        const busy = busyEssays(context);
        if (event.essayIds.some((e) => busy.has(e))) return;
        const action: PendingAction = { ...event, status: 'sending', results: {}, message: null };
        return { ...context, actions: { ...context.actions, [event.key]: action } };
      },
      actionAnswered: (context, event: { key: string; results: Record<string, string>; message: string | null }) => {
        const action = context.actions[event.key];
        if (!action) return context;
        return { ...context, actions: { ...context.actions, [event.key]: { ...action, status: 'answered' as const, results: event.results, message: event.message } } };
      },
      actionFailed: (context, event: { key: string; message: string }) => {
        const action = context.actions[event.key];
        if (!action) return context;
        return { ...context, actions: { ...context.actions, [event.key]: { ...action, status: 'failed' as const, message: event.message } } };
      },
      operatorLoaded: (context, event: { numbers: OperatorNumbers }) => ({ ...context, operator: event.numbers }),
      failed: (context, event: { message: string }) => ({ ...context, error: event.message }),
      ticked: (context, event: { now: number }) => ({ ...context, now: event.now }),
    },
  });
}

export type ReviewStore = ReturnType<typeof createReviewStore>;

/** The newest answer per essay, for the row's "last answer" cell. */
export function answersByEssay(context: ReviewContext): Record<string, { outcome: string; kind: ActionKind }> {
  const answers: Record<string, { outcome: string; kind: ActionKind }> = {};
  for (const a of Object.values(context.actions)) {
    for (const essayId of a.essayIds) {
      const outcome = a.status === 'sending' ? 'sending…' : a.status === 'failed' ? `failed: ${a.message ?? ''}` : (a.results[essayId] ?? a.message ?? 'done');
      answers[essayId] = { outcome, kind: a.kind };
    }
  }
  return answers;
}
