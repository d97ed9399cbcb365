import { createStore } from '@xstate/store';
import type { Language } from './i18n/index.ts';
import type {
  Association,
  AssociationStatus,
  BatchView,
  ClassSummary,
  Connection,
  Deadline,
  HistoryRow,
  OperatorNumbers,
  Pipeline,
  ProblemKind,
  Refusal,
  Student,
} from './types.ts';

/**
 * The page's client state: who is signed in, which view is open, what the API and the stream
 * said, and the actions in flight with their answers. One store with named transitions; the
 * page renders from its snapshot and never keeps state of its own. The durable lifecycle is
 * the server's statechart, never this.
 */

export type Auth = { kind: 'teacher'; token: string; teacher_id: string } | { kind: 'service'; token: string };

export type View =
  | { name: 'signin' }
  | { name: 'batches' }
  | { name: 'batch'; batchId: string }
  | { name: 'operator' }
  | { name: 'nowhere' };

export type ActionKind =
  | 'confirm'
  | 'correct'
  | 'reject'
  | 'reopen'
  | 'amend'
  | 'confirm_high'
  | 'extend'
  | 'pause'
  | 'resume'
  | 'cancel'
  | 'pipeline';
/** Actions on the whole batch: one of each kind at a time. */
const BATCH_ACTIONS: ReadonlySet<ActionKind> = new Set(['extend', 'pause', 'resume', 'confirm_high', 'cancel', 'pipeline']);

/** One decision's answer: what the essay became, or why the API refused it. */
export type ItemResult =
  | { outcome: 'applied'; status: AssociationStatus; studentId: string | null }
  | { outcome: 'refused'; refusal: Refusal };

/** A question the page asks once before an action that is final, or nearly so. */
export type Asking = { kind: 'reject'; essayId: string } | { kind: 'cancel' } | null;

export interface PendingAction {
  /** Also the request's Idempotency-Key: a retry of the same intent can never act twice. */
  key: string;
  kind: ActionKind;
  batchId: string;
  essayIds: string[];
  status: 'sending' | 'answered' | 'failed';
  /** Per-item outcomes of the answer, by essay id. */
  results: Record<string, ItemResult>;
  /** Why the request failed as a whole (a problem answer's status, or no answer at all). */
  problem: ProblemKind | null;
  /** The new deadline, for an extension or a resume. */
  dueAt: string | null;
  /** The pipeline asked for. */
  pipeline?: Pipeline;
}

export interface BatchDetail {
  batchId: string;
  batch: BatchView | null;
  associations: Association[];
  history: HistoryRow[];
  roster: Student[];
  /** The newest stream id seen: sent back as Last-Event-ID on a reconnect. */
  lastEventId: number;
  connection: Connection;
  /** The stream answered 404: no such batch, or another teacher's. */
  missing: boolean;
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
  error: ProblemKind | null;
  /** Sign-in failed: the token was refused (or the service could not be reached). */
  signInError: ProblemKind | null;
  language: Language;
  /** The chart and the machine's names, for chart reviewers. */
  showDetails: boolean;
  asking: Asking;
  pipeline: Pipeline;
  now: number;
}

export const initialContext = (now: number, language: Language = 'en'): ReviewContext => ({
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
  signInError: null,
  language,
  showDetails: false,
  asking: null,
  pipeline: 'nlp',
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

export function createReviewStore(now = Date.now(), language: Language = 'en') {
  return createStore({
    context: initialContext(now, language),
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
        signInError: null,
        view: event.auth.kind === 'service' ? ({ name: 'operator' } as const) : ({ name: 'batches' } as const),
      }),
      signedOut: (context) => ({
        ...initialContext(context.now, context.language),
        developmentTeachers: context.developmentTeachers,
        stuckAfterMs: context.stuckAfterMs,
        showDetails: context.showDetails,
      }),
      signInFailed: (context, event: { problem: ProblemKind }) => ({ ...context, signInError: event.problem }),
      languageChosen: (context, event: { language: Language }) => ({ ...context, language: event.language }),
      detailsToggled: (context) => ({ ...context, showDetails: !context.showDetails }),
      asked: (context, event: { asking: Asking }) => ({ ...context, asking: event.asking }),
      pipelinePicked: (context, event: { pipeline: Pipeline }) => ({ ...context, pipeline: event.pipeline }),
      batchMissing: (context, event: { batchId: string }) =>
        forBatch(context, event.batchId)
          ? { ...context, detail: { ...context.detail!, missing: true, connection: 'closed' as const } }
          : context,
      navigated: (context, event: { view: View }) => {
        if (context.auth === null && event.view.name !== 'signin') return { ...context, view: { name: 'signin' } as const };
        const detail =
          event.view.name === 'batch'
            ? forBatch(context, event.view.batchId)
              ? context.detail
              : {
                  batchId: event.view.batchId,
                  batch: null,
                  associations: [],
                  history: [],
                  roster: [],
                  lastEventId: 0,
                  connection: 'connecting' as const,
                  missing: false,
                }
            : null;
        return { ...context, view: event.view, detail, error: null, asking: null };
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
        return {
          ...context,
          detail: { ...d, history: mergeHistory(d.history, [event.row]), lastEventId: Math.max(d.lastEventId, event.id) },
        };
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
      actionStarted: (context, event: { key: string; kind: ActionKind; batchId: string; essayIds: string[]; pipeline?: Pipeline }) => {
        if (context.actions[event.key]) return;
        if (!BATCH_ACTIONS.has(event.kind) && event.essayIds.length === 0) return;
        if (event.kind === 'confirm_high' && event.essayIds.length === 0) return;
        const sending = Object.values(context.actions).filter((a) => a.status === 'sending' && a.batchId === event.batchId);
        if (sending.some((a) => a.kind === event.kind && BATCH_ACTIONS.has(a.kind))) return;
        const busy = busyEssays(context);
        if (event.essayIds.some((e) => busy.has(e))) return;
        const action: PendingAction = { ...event, status: 'sending', results: {}, problem: null, dueAt: null };
        return { ...context, asking: null, actions: { ...context.actions, [event.key]: action } };
      },
      actionAnswered: (context, event: { key: string; results: Record<string, ItemResult>; dueAt?: string | null }) => {
        const action = context.actions[event.key];
        if (!action) return context;
        return {
          ...context,
          actions: {
            ...context.actions,
            [event.key]: { ...action, status: 'answered' as const, results: event.results, dueAt: event.dueAt ?? null },
          },
        };
      },
      actionFailed: (context, event: { key: string; problem: ProblemKind }) => {
        const action = context.actions[event.key];
        if (!action) return context;
        return {
          ...context,
          actions: { ...context.actions, [event.key]: { ...action, status: 'failed' as const, problem: event.problem } },
        };
      },
      operatorLoaded: (context, event: { numbers: OperatorNumbers }) => ({ ...context, operator: event.numbers }),
      failed: (context, event: { problem: ProblemKind }) => ({ ...context, error: event.problem }),
      ticked: (context, event: { now: number }) => ({ ...context, now: event.now }),
    },
  });
}

export type ReviewStore = ReturnType<typeof createReviewStore>;

export interface EssayAnswer {
  kind: ActionKind;
  status: PendingAction['status'];
  result: ItemResult | null;
  problem: ProblemKind | null;
}

/** The newest answer per essay, for the row's answer line. */
export function answersByEssay(context: ReviewContext): Record<string, EssayAnswer> {
  const answers: Record<string, EssayAnswer> = {};
  for (const a of Object.values(context.actions)) {
    for (const essayId of a.essayIds)
      answers[essayId] = { kind: a.kind, status: a.status, result: a.results[essayId] ?? null, problem: a.problem };
  }
  return answers;
}
