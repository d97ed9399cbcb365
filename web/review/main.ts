import { ApiError, call, problemKindOf, refusalOf, subjectOf } from './api.ts';
import { batchView, fillChart } from './batch-view.ts';
import { loadChart } from './chart.ts';
import { h } from './dom.ts';
import { type Language, initialLanguage, saveLanguage, timeLeft } from './i18n/index.ts';
import { openStream } from './sse.ts';
import { type ActionKind, type Auth, type ItemResult, type ReviewContext, type View, createReviewStore } from './store.ts';
import type {
  Association,
  AssociationStatus,
  BatchView,
  ChartGraph,
  ClassSummary,
  Deadline,
  HistoryRow,
  OperatorNumbers,
  Pipeline,
  Student,
} from './types.ts';
import { type Intents, batchesView, catalogue, drafts, messageView, operatorView, serviceOnlyView, signInView } from './views.ts';

/** Wiring: the URL, the API and the stream send events to the store; the store's snapshot is drawn. */

const store = createReviewStore(Date.now(), initialLanguage());
const TOKEN_KEY = 'huleedu.review.token';
const DETAILS_KEY = 'huleedu.review.details';
/** How often My batches asks again while it is open. */
const BATCHES_POLL_MS = 3000;
let graph: ChartGraph | null = null;
let closeStream: (() => void) | null = null;

const ctx = () => store.getSnapshot().context;
const token = () => ctx().auth?.token ?? '';

const BATCH_LINK = /^#\/batches\/([0-9a-f-]{36})$/i;

function viewOfHash(hash: string): View {
  const batch = BATCH_LINK.exec(hash);
  if (batch) return { name: 'batch', batchId: batch[1]!.toLowerCase() };
  if (hash === '#/batches') return { name: 'batches' };
  if (hash === '#/operator') return { name: 'operator' };
  if (hash === '' || hash === '#' || hash === '#/' || hash === '#/signin') return { name: 'signin' };
  return { name: 'nowhere' };
}

function hashOf(view: View): string {
  if (view.name === 'batch') return `#/batches/${view.batchId}`;
  if (view.name === 'nowhere') return location.hash;
  return view.name === 'signin' ? '#/signin' : `#/${view.name}`;
}

/**
 * The token lives in sessionStorage (this tab, this browser session). A tab opened on a deep link
 * starts empty, so it asks the other open tabs of the page on a BroadcastChannel; one that is
 * signed in answers with its token. Same origin only, and nothing outlives the browser session.
 */
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('huleedu.review.session');
channel?.addEventListener('message', (event: MessageEvent<{ kind: string; token?: string }>) => {
  if (event.data.kind === 'ask' && ctx().auth) channel.postMessage({ kind: 'token', token: ctx().auth!.token });
});

function tokenFromAnotherTab(waitMs: number): Promise<string | null> {
  if (!channel) return Promise.resolve(null);
  return new Promise((resolve) => {
    const listener = (event: MessageEvent<{ kind: string; token?: string }>) => {
      if (event.data.kind !== 'token' || !event.data.token) return;
      channel.removeEventListener('message', listener);
      resolve(event.data.token);
    };
    channel.addEventListener('message', listener);
    channel.postMessage({ kind: 'ask' });
    setTimeout(() => {
      channel.removeEventListener('message', listener);
      resolve(null);
    }, waitMs);
  });
}

/** Signs in and goes where the link asked (`wanted`), or to the start view of the token's kind. */
async function signIn(raw: string, wanted: View | null) {
  if (raw === '') return;
  const teacher = subjectOf(raw);
  const auth: Auth = teacher === null ? { kind: 'service', token: raw } : { kind: 'teacher', token: raw, teacher_id: teacher };
  try {
    // One cheap call proves the token before the page trusts it.
    await call(raw, 'GET', auth.kind === 'teacher' ? '/v1/classes' : '/v1/operations/numbers');
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    store.trigger.signInFailed({ problem: problemKindOf(error) });
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, raw);
  drafts.token = '';
  store.trigger.signedIn({ auth });
  go(wanted && wanted.name !== 'signin' ? wanted : ctx().view);
}

function go(view: View) {
  if (view.name !== 'nowhere' && location.hash !== hashOf(view)) location.hash = hashOf(view);
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
    if (now.name === 'batches' && ctx().auth?.kind === 'teacher') await loadBatches();
    if (now.name === 'operator' && ctx().auth?.kind === 'service') await loadOperator();
    if (now.name === 'batch' && ctx().auth?.kind === 'teacher') follow(now.batchId);
  } catch (error) {
    store.trigger.failed({ problem: problemKindOf(error) });
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
      if (final && reason === '404') store.trigger.batchMissing({ batchId });
      else if (final) store.trigger.failed({ problem: problemKindOf(new ApiError(Number(reason), reason, null)) });
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
            (error: unknown) => store.trigger.failed({ problem: problemKindOf(error) }),
          );
        }
      }
    },
  });
}

type DecisionAnswer = {
  results?: Array<{ essay_id: string; outcome: string; validation_status?: string | null; student_id?: string | null; reason?: string }>;
  due_at?: string | null;
};

/** Starts an action unless the store refuses it (one already in flight for the same essays). */
async function act(kind: ActionKind, essayIds: string[], path: string, body: unknown, pipeline?: Pipeline) {
  const batchId = ctx().detail?.batchId;
  if (!batchId) return;
  const key = crypto.randomUUID();
  store.trigger.actionStarted({ key, kind, batchId, essayIds, pipeline });
  if (!ctx().actions[key]) return;
  try {
    const answer = await call<DecisionAnswer>(token(), 'POST', `/v1/batches/${batchId}${path}`, { body, idempotencyKey: key });
    const results: Record<string, ItemResult> = {};
    for (const r of answer.results ?? []) {
      results[r.essay_id] =
        r.outcome === 'applied'
          ? { outcome: 'applied', status: (r.validation_status ?? 'confirmed') as AssociationStatus, studentId: r.student_id ?? null }
          : { outcome: 'refused', refusal: refusalOf(r.reason) };
    }
    store.trigger.actionAnswered({ key, results, dueAt: answer.due_at ?? null });
  } catch (error) {
    store.trigger.actionFailed({ key, problem: problemKindOf(error) });
  }
}

const pendingRow = (essayId: string) =>
  ctx().detail?.associations.find((a) => a.essay_id === essayId && a.validation_status === 'pending_validation');

function setLanguage(language: Language) {
  saveLanguage(language);
  store.trigger.languageChosen({ language });
}

const intents: Intents = {
  signIn: (raw) => void signIn(raw, viewOfHash(location.hash)),
  signOut: () => {
    closeStream?.();
    sessionStorage.removeItem(TOKEN_KEY);
    store.trigger.signedOut();
    go({ name: 'signin' });
  },
  switchLanguage: () => setLanguage(ctx().language === 'sv' ? 'en' : 'sv'),
  toggleDetails: () => {
    store.trigger.detailsToggled();
    localStorage.setItem(DETAILS_KEY, ctx().showDetails ? 'on' : 'off');
  },
  open: (batchId) => go({ name: 'batch', batchId }),
  back: () => go({ name: 'batches' }),
  confirm: (essayId) => {
    const row = pendingRow(essayId);
    // A row without a suggestion has no Confirm button; the API would refuse it anyway.
    if (!row?.suggested_student_id) return;
    void act('confirm', [essayId], '/student-associations/confirm', { associations: [{ essay_id: essayId, confirmed: true }] });
  },
  askReject: (essayId) => pendingRow(essayId) && store.trigger.asked({ asking: { kind: 'reject', essayId } }),
  reject: (essayId) =>
    pendingRow(essayId) &&
    void act('reject', [essayId], '/student-associations/confirm', { associations: [{ essay_id: essayId, confirmed: false }] }),
  reopen: (essayId) => {
    const row = ctx().detail?.associations.find((a) => a.essay_id === essayId && a.validation_method === 'human');
    if (row) void act('reopen', [essayId], '/student-associations/reopen', { essay_ids: [essayId] });
  },
  amend: (essayId) => {
    const studentId = ctx().corrections[essayId];
    const row = ctx().detail?.associations.find((a) => a.essay_id === essayId && a.validation_status !== 'pending_validation');
    if (!studentId || !row || row.student_id === studentId) return;
    void act('amend', [essayId], '/student-associations/correct', { corrections: [{ essay_id: essayId, student_id: studentId }] });
  },
  stopAsking: () => store.trigger.asked({ asking: null }),
  correct: (essayId) => {
    const studentId = ctx().corrections[essayId];
    if (!studentId || !pendingRow(essayId)) return;
    void act('correct', [essayId], '/student-associations/confirm', {
      associations: [{ essay_id: essayId, student_id: studentId, confirmed: true }],
    });
  },
  pickCorrection: (essayId, studentId) => store.trigger.correctionPicked({ essayId, studentId }),
  confirmHigh: () => {
    const high = (ctx().detail?.associations ?? []).filter(
      (a) => a.validation_status === 'pending_validation' && a.confidence_level === 'high',
    );
    void act(
      'confirm_high',
      high.map((a) => a.essay_id),
      '/student-associations/confirm',
      {
        associations: high.map((a) => ({ essay_id: a.essay_id, confirmed: true })),
      },
    );
  },
  extend: () => void act('extend', [], '/deadline', { extend_by_ms: 86_400_000 }),
  pause: () => void act('pause', [], '/deadline/pause', {}),
  resume: () => void act('resume', [], '/deadline/resume', {}),
  pickPipeline: (pipeline) => store.trigger.pipelinePicked({ pipeline }),
  startPipeline: () => void act('pipeline', [], '/pipelines', { pipeline: ctx().pipeline }, ctx().pipeline),
  askCancel: () => {
    drafts.cancelReason = '';
    store.trigger.asked({ asking: { kind: 'cancel' } });
  },
  cancel: (reason) => {
    const trimmed = reason.trim();
    void act('cancel', [], '/cancel', trimmed === '' ? {} : { reason: trimmed.slice(0, 500) });
  },
  refreshOperator: () => void loadOperator().catch((error: unknown) => store.trigger.failed({ problem: problemKindOf(error) })),
};

const root = document.getElementById('app')!;

function header(context: ReviewContext): HTMLElement {
  const t = catalogue(context);
  const who = context.auth === null ? null : context.auth.kind === 'teacher' ? t.signedInAs(context.auth.teacher_id) : t.signedInService;
  const other = context.language === 'sv' ? 'en' : 'sv';
  return h(
    'header',
    {},
    h('span', { class: 'brand' }, t.brand),
    h(
      'nav',
      { 'aria-label': t.brand },
      context.auth?.kind === 'teacher' ? h('a', { href: '#/batches', id: 'nav-batches' }, t.myBatches) : null,
      who ? h('span', { id: 'who' }, who) : null,
      h('button', { type: 'button', id: 'language', lang: other, title: t.switchToLabel, onclick: intents.switchLanguage }, t.switchTo),
      context.auth ? h('button', { type: 'button', id: 'signout', onclick: intents.signOut }, t.signOut) : null,
    ),
  );
}

function currentView(context: ReviewContext): HTMLElement {
  const t = catalogue(context);
  const view = context.view;
  if (view.name === 'signin' || context.auth === null) return signInView(context, intents);
  if (view.name === 'nowhere') {
    return messageView(
      'view-nowhere',
      t.badLinkTitle,
      t.badLink,
      context.auth.kind === 'teacher' ? { href: '#/batches', text: t.myBatches } : { href: '#/operator', text: t.toOperator },
    );
  }
  if (view.name === 'operator') {
    if (context.auth.kind !== 'service')
      return messageView('view-nowhere', t.badLinkTitle, t.problem[403], { href: '#/batches', text: t.myBatches });
    return operatorView(context, intents);
  }
  if (context.auth.kind === 'service') return serviceOnlyView(context);
  if (view.name === 'batches') return batchesView(context);
  return batchView(context, intents, graph, redraw);
}

let lastDrawn: ReviewContext | null = null;

/** Draws the view; when only the clock moved, only the countdowns change (an open list stays open). */
function draw() {
  const context = ctx();
  document.documentElement.lang = context.language;
  if (
    lastDrawn &&
    Object.keys(context).every((k) => k === 'now' || context[k as keyof ReviewContext] === lastDrawn![k as keyof ReviewContext])
  ) {
    for (const el of root.querySelectorAll<HTMLElement>('[data-due]')) {
      el.firstChild!.textContent = `${timeLeft(el.dataset.due!, context.now, context.language)} `;
    }
    lastDrawn = context;
    return;
  }
  lastDrawn = context;
  const focused = document.activeElement?.id;
  const t = catalogue(context);
  document.title = t.brand;
  const view = currentView(context);
  const error = context.error ? h('p', { role: 'alert', id: 'error', class: 'error' }, t.problem[context.error]) : null;
  root.replaceChildren(header(context), ...(error ? [error] : []), view);
  if (context.view.name === 'batch' && context.showDetails) fillChart(root, context, redraw);
  restoreFocus(focused);
}

/**
 * Keyboard users keep their place across redraws. A row's control that just went away or became
 * disabled (its action is in flight or done) hands focus to the row's answer, which then reads out.
 */
function restoreFocus(id: string | undefined) {
  if (!id) return;
  const target = document.getElementById(id) as HTMLButtonElement | null;
  if (target && !target.disabled) return target.focus();
  const essay = /^(?:confirm|reject|reject-yes|reject-no|correct|correct-to)-(.+)$/.exec(id)?.[1];
  if (essay) {
    const next = document.getElementById(`reject-yes-${essay}`) ?? document.getElementById(`answer-${essay}`);
    next?.focus();
    return;
  }
  if (id === 'cancel') document.getElementById('cancel-reason')?.focus();
  if (id === 'cancel-no' || id === 'cancel-yes') (document.getElementById('cancel') ?? document.getElementById('batch-answers'))?.focus();
}

function redraw() {
  lastDrawn = null;
  draw();
}

store.subscribe(draw);
window.addEventListener('hashchange', () => void enter(viewOfHash(location.hash)));
setInterval(() => store.trigger.ticked({ now: Date.now() }), 1000);
// My batches follows changes without a reload: it asks again every few seconds while it is open and visible.
setInterval(() => {
  if (ctx().view.name !== 'batches' || ctx().auth?.kind !== 'teacher' || document.visibilityState === 'hidden') return;
  loadBatches().catch((error: unknown) => store.trigger.failed({ problem: problemKindOf(error) }));
}, BATCHES_POLL_MS);

async function start() {
  if (localStorage.getItem(DETAILS_KEY) === 'on') store.trigger.detailsToggled();
  void loadChart().then((c) => {
    graph = c.graph;
    redraw();
  });
  const config = await fetch('/review/config.json').then(
    (r) => r.json() as Promise<{ development_teachers: Array<{ teacher_id: string; token: string }>; stuck_after_ms: number }>,
  );
  store.trigger.configured({ developmentTeachers: config.development_teachers, stuckAfterMs: config.stuck_after_ms });
  const wanted = viewOfHash(location.hash);
  const saved = sessionStorage.getItem(TOKEN_KEY) ?? (await tokenFromAnotherTab(300));
  if (saved) await signIn(saved, wanted);
  else draw();
}

void start();
