import { ApiError, call, subjectOf } from './api.ts';
import { batchView, fillChart } from './batch-view.ts';
import { loadChart } from './chart.ts';
import { h, localTime, timeLeft as countdownText } from './dom.ts';
import { openStream } from './sse.ts';
import { type ActionKind, type Auth, type ReviewContext, type View, createReviewStore } from './store.ts';
import type { Association, BatchView, ChartGraph, ClassSummary, Deadline, HistoryRow, OperatorNumbers, Student } from './types.ts';
import { type Intents, batchesView, operatorView, signInView } from './views.ts';

/** Wiring: the URL, the API and the stream send events to the store; the store's snapshot is drawn. */

const store = createReviewStore();
const TOKEN_KEY = 'huleedu.review.token';
let graph: ChartGraph | null = null;
let closeStream: (() => void) | null = null;

const ctx = () => store.getSnapshot().context;
const token = () => ctx().auth?.token ?? '';

function viewOfHash(hash: string): View {
  const batch = /^#\/batches\/([0-9a-f-]{36})$/i.exec(hash);
  if (batch) return { name: 'batch', batchId: batch[1]!.toLowerCase() };
  if (hash === '#/batches') return { name: 'batches' };
  if (hash === '#/operator') return { name: 'operator' };
  return { name: 'signin' };
}

function hashOf(view: View): string {
  if (view.name === 'batch') return `#/batches/${view.batchId}`;
  return view.name === 'signin' ? '#/signin' : `#/${view.name}`;
}

async function signIn(raw: string) {
  if (raw === '') return;
  const teacher = subjectOf(raw);
  const auth: Auth = teacher === null ? { kind: 'service', token: raw } : { kind: 'teacher', token: raw, teacher_id: teacher };
  try {
    // One cheap call proves the token before the page trusts it.
    await call(raw, 'GET', auth.kind === 'teacher' ? '/v1/classes' : '/v1/operations/numbers');
  } catch (error) {
    store.trigger.failed({ message: `Sign-in failed: ${(error as Error).message}` });
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, raw);
  store.trigger.signedIn({ auth });
  go(ctx().view);
}

function go(view: View) {
  if (location.hash !== hashOf(view)) location.hash = hashOf(view);
  else void enter(view);
}

async function enter(view: View) {
  store.trigger.navigated({ view });
  const now = ctx().view;
  if (now.name !== 'batch') {
    closeStream?.();
    closeStream = null;
  }
  try {
    if (now.name === 'batches') await loadBatches();
    if (now.name === 'operator') await loadOperator();
    if (now.name === 'batch') follow(now.batchId);
  } catch (error) {
    store.trigger.failed({ message: (error as Error).message });
  }
}

async function loadBatches() {
  const [batches, deadlines, classes] = await Promise.all([
    call<{ batches: BatchView[] }>(token(), 'GET', '/v1/batches'),
    call<{ deadlines: Deadline[] }>(token(), 'GET', '/v1/deadlines'),
    call<{ classes: ClassSummary[] }>(token(), 'GET', '/v1/classes'),
  ]);
  store.trigger.batchesLoaded({ batches: batches.batches, deadlines: deadlines.deadlines, classes: classes.classes });
}

async function loadOperator() {
  store.trigger.operatorLoaded({ numbers: await call<OperatorNumbers>(token(), 'GET', '/v1/operations/numbers') });
}

function follow(batchId: string) {
  closeStream?.();
  let rosterFor: string | null = null;
  closeStream = openStream(`/v1/batches/${batchId}/stream`, token(), {
    lastEventId: () => (ctx().detail?.batchId === batchId ? ctx().detail!.lastEventId : 0),
    onOpen: () => store.trigger.streamOpened({ batchId }),
    onDrop: (final, reason) => {
      store.trigger.streamDropped({ batchId, final });
      if (final) store.trigger.failed({ message: reason === '404' ? 'No such batch (or not yours).' : `The stream was refused (${reason}).` });
    },
    onMessage: (message) => {
      const id = Number(message.id ?? 0);
      if (message.event === 'history') store.trigger.historyArrived({ batchId, id, row: JSON.parse(message.data) as HistoryRow });
      if (message.event === 'batch') {
        const data = JSON.parse(message.data) as { batch: BatchView; associations: Association[] };
        store.trigger.batchArrived({ batchId, id, batch: data.batch, associations: data.associations });
        const classId = data.batch.class_id;
        if (classId !== null && rosterFor !== classId) {
          rosterFor = classId;
          void call<{ students: Student[] }>(token(), 'GET', `/v1/classes/${classId}/students`).then(
            (r) => store.trigger.rosterLoaded({ batchId, roster: r.students }),
            (error: unknown) => store.trigger.failed({ message: String(error) }),
          );
        }
      }
    },
  });
}

/** Starts an action unless the store refuses it (one already in flight for the same essays). */
async function act(kind: ActionKind, essayIds: string[], path: string, body: unknown) {
  const batchId = ctx().detail?.batchId;
  if (!batchId) return;
  const key = crypto.randomUUID();
  store.trigger.actionStarted({ key, kind, batchId, essayIds });
  if (!ctx().actions[key]) return;
  try {
    const answer = await call<{ results?: Array<{ essay_id: string; outcome: string; validation_status?: string | null; reason?: string }>; due_at?: string }>(
      token(),
      'POST',
      `/v1/batches/${batchId}${path}`,
      { body, idempotencyKey: key },
    );
    const results: Record<string, string> = {};
    for (const r of answer.results ?? []) results[r.essay_id] = r.outcome === 'applied' ? `applied: ${r.validation_status}` : `refused: ${r.reason}`;
    const message = answer.due_at ? `applied: new deadline ${localTime(answer.due_at)}` : kind === 'confirm_high' ? `applied to ${essayIds.length}` : null;
    store.trigger.actionAnswered({ key, results, message });
  } catch (error) {
    store.trigger.actionFailed({ key, message: error instanceof ApiError ? error.message : String(error) });
  }
}

const pendingRow = (essayId: string) => ctx().detail?.associations.find((a) => a.essay_id === essayId && a.validation_status === 'pending_validation');

const intents: Intents = {
  signIn: (raw) => void signIn(raw),
  signOut: () => {
    closeStream?.();
    sessionStorage.removeItem(TOKEN_KEY);
    store.trigger.signedOut();
    go({ name: 'signin' });
  },
  open: (batchId) => go({ name: 'batch', batchId }),
  back: () => go({ name: 'batches' }),
  confirm: (essayId) => pendingRow(essayId) && void act('confirm', [essayId], '/student-associations/confirm', { associations: [{ essay_id: essayId, confirmed: true }] }),
  reject: (essayId) => pendingRow(essayId) && void act('reject', [essayId], '/student-associations/confirm', { associations: [{ essay_id: essayId, confirmed: false }] }),
  correct: (essayId) => {
    const studentId = ctx().corrections[essayId];
    if (!studentId || !pendingRow(essayId)) return;
    void act('correct', [essayId], '/student-associations/confirm', { associations: [{ essay_id: essayId, student_id: studentId, confirmed: true }] });
  },
  pickCorrection: (essayId, studentId) => store.trigger.correctionPicked({ essayId, studentId }),
  confirmHigh: () => {
    const high = (ctx().detail?.associations ?? []).filter((a) => a.validation_status === 'pending_validation' && a.confidence_level === 'high');
    void act('confirm_high', high.map((a) => a.essay_id), '/student-associations/confirm', {
      associations: high.map((a) => ({ essay_id: a.essay_id, confirmed: true })),
    });
  },
  extend: () => void act('extend', [], '/deadline', { extend_by_ms: 86_400_000 }),
  refreshOperator: () => void loadOperator().catch((error: unknown) => store.trigger.failed({ message: String(error) })),
};

const root = document.getElementById('app')!;

function header(context: ReviewContext): HTMLElement {
  const who = context.auth === null ? null : context.auth.kind === 'teacher' ? `Teacher ${context.auth.teacher_id}` : 'Service token (operator)';
  return h(
    'header',
    {},
    h('span', { class: 'brand' }, 'HuleEdu review'),
    who ? h('span', { id: 'who' }, who) : null,
    context.auth?.kind === 'teacher' ? h('a', { href: '#/batches' }, 'My batches') : null,
    context.auth ? h('button', { type: 'button', id: 'signout', onclick: intents.signOut }, 'Sign out') : null,
  );
}

let lastDrawn: ReviewContext | null = null;

/** Draws the view; when only the clock moved, only the countdowns change (an open list stays open). */
function draw() {
  const context = ctx();
  if (lastDrawn && Object.keys(context).every((k) => k === 'now' || context[k as keyof ReviewContext] === lastDrawn![k as keyof ReviewContext])) {
    for (const el of root.querySelectorAll<HTMLElement>('[data-due]')) {
      el.firstChild!.textContent = `${countdownText(el.dataset.due!, context.now)} `;
    }
    lastDrawn = context;
    return;
  }
  lastDrawn = context;
  const focused = document.activeElement?.id;
  const view =
    context.view.name === 'signin'
      ? signInView(context, intents)
      : context.view.name === 'batches'
        ? batchesView(context, intents)
        : context.view.name === 'operator'
          ? operatorView(context, intents)
          : batchView(context, intents, graph, redraw);
  const error = context.error ? h('p', { role: 'alert', id: 'error', class: 'error' }, context.error) : null;
  root.replaceChildren(header(context), ...(error ? [error] : []), view);
  if (context.view.name === 'batch') fillChart(root, context, redraw);
  restoreFocus(focused);
}

/**
 * Keyboard users keep their place across redraws. A row's button that just became disabled
 * (its action is in flight or done) hands focus to the row's answer cell, which then reads out.
 */
function restoreFocus(id: string | undefined) {
  if (!id) return;
  const target = document.getElementById(id) as HTMLButtonElement | null;
  if (target && !target.disabled) return target.focus();
  const essay = /^(?:confirm|reject|correct|correct-to)-(.+)$/.exec(id)?.[1];
  if (essay) document.getElementById(`answer-${essay}`)?.focus();
}

function redraw() {
  lastDrawn = null;
  draw();
}

store.subscribe(draw);
window.addEventListener('hashchange', () => void enter(viewOfHash(location.hash)));
setInterval(() => store.trigger.ticked({ now: Date.now() }), 1000);

async function start() {
  void loadChart().then((c) => {
    graph = c.graph;
    redraw();
  });
  const config = await fetch('/review/config.json').then((r) => r.json() as Promise<{ development_teachers: Array<{ teacher_id: string; token: string }>; stuck_after_ms: number }>);
  store.trigger.configured({ developmentTeachers: config.development_teachers, stuckAfterMs: config.stuck_after_ms });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  const wanted = viewOfHash(location.hash);
  if (saved) {
    await signIn(saved);
    if (ctx().auth && wanted.name !== 'signin') go(wanted);
  } else {
    draw();
  }
}

void start();
