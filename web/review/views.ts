import { h, shortId } from './dom.ts';
import { CATALOGUES, type Language, localTime, timeLeft, timeZone } from './i18n/index.ts';
import type { Catalogue } from './i18n/en.ts';
import type { ReviewContext } from './store.ts';
import type { BatchState, BatchView, Pipeline } from './types.ts';

/** The sign-in, my-batches, operator and "nothing here" views, drawn from the store's snapshot. */

export interface Intents {
  signIn(token: string): void;
  signOut(): void;
  switchLanguage(): void;
  toggleDetails(): void;
  open(batchId: string): void;
  back(): void;
  confirm(essayId: string): void;
  correct(essayId: string): void;
  pickCorrection(essayId: string, studentId: string): void;
  askReject(essayId: string): void;
  reject(essayId: string): void;
  reopen(essayId: string): void;
  /** Corrects a decided essay to the student picked for it, after validation. */
  amend(essayId: string): void;
  stopAsking(): void;
  confirmHigh(): void;
  extend(): void;
  /** Pauses the automatic decision, keeping the time it has left. */
  pause(): void;
  resume(): void;
  pickPipeline(pipeline: Pipeline): void;
  startPipeline(): void;
  askCancel(): void;
  cancel(reason: string): void;
  refreshOperator(): void;
}

export const catalogue = (context: ReviewContext): Catalogue => CATALOGUES[context.language];

/** States where a batch waits for another service (as app/review-reads.ts counts "stuck"). */
const WAITING_STATES = new Set([
  'awaiting_content_validation',
  'awaiting_student_validation.awaiting_suggestions',
  'student_validation_completed',
  'awaiting_pipeline_configuration',
]);

export function marksOf(batch: BatchView, now: number, stuckAfterMs: number) {
  const due = batch.validation.due_at;
  return {
    overdue: due !== null && batch.validation.pending > 0 && Date.parse(due) <= now,
    stuck: WAITING_STATES.has(batch.state) && now - Date.parse(batch.updated_at) > stuckAfterMs,
  };
}

/** The batch's state in plain words; a state the page does not know yet is "being processed". */
export function stateWords(t: Catalogue, state: string): string {
  return Object.hasOwn(t.state, state) ? t.state[state as BatchState] : t.state.other;
}

export function countdown(dueAt: string, now: number, language: Language): HTMLElement {
  const at = localTime(dueAt, language);
  return h('span', { class: 'countdown', 'data-due': dueAt, title: at }, `${timeLeft(dueAt, now, language)} `, h('small', {}, `(${at})`));
}

/**
 * What the teacher has typed but not sent yet. The view is rebuilt on every change of the store
 * (the chart arriving, a stream message), so a field's text is kept here, not in the element.
 */
export const drafts = { token: '', cancelReason: '' };

export function signInView(context: ReviewContext, intents: Intents): HTMLElement {
  const t = catalogue(context);
  let textarea: HTMLTextAreaElement;
  const form = h(
    'form',
    {
      id: 'signin-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        intents.signIn(textarea.value.trim());
      },
    },
    h('label', { for: 'token' }, t.tokenLabel),
    (textarea = h('textarea', {
      id: 'token',
      name: 'token',
      rows: 4,
      required: true,
      autocomplete: 'off',
      spellcheck: 'false',
      oninput: (e: Event) => (drafts.token = (e.target as HTMLTextAreaElement).value),
    }) as HTMLTextAreaElement),
    h('button', { type: 'submit', id: 'signin' }, t.signIn),
  );
  const dev =
    context.developmentTeachers.length === 0
      ? null
      : h(
          'section',
          { 'aria-labelledby': 'dev-title' },
          h('h2', { id: 'dev-title' }, t.devTitle),
          h('p', {}, t.devNote),
          h(
            'ul',
            { class: 'plain' },
            context.developmentTeachers.map((d) =>
              h(
                'li',
                {},
                h(
                  'button',
                  { type: 'button', id: `dev-${d.teacher_id}`, onclick: () => intents.signIn(d.token) },
                  t.devSignInAs(d.teacher_id),
                ),
              ),
            ),
          ),
        );
  const failed =
    context.signInError === null
      ? null
      : h('p', { role: 'alert', id: 'signin-error', class: 'error' }, t.signInFailed(t.problem[context.signInError]));
  textarea.value = drafts.token;
  return h('main', { id: 'view-signin' }, h('h1', {}, t.signInTitle), failed, form, dev);
}

/** A page with a heading, a sentence and a way on: for the states where there is nothing else to show. */
export function messageView(id: string, title: string, sentence: string, link: { href: string; text: string } | null): HTMLElement {
  return h(
    'main',
    { id },
    h('h1', {}, title),
    h('p', { class: 'message' }, sentence),
    link ? h('p', {}, h('a', { href: link.href }, link.text)) : null,
  );
}

export function serviceOnlyView(context: ReviewContext): HTMLElement {
  const t = catalogue(context);
  return messageView('view-service-only', t.serviceTitle, t.serviceOnly, { href: '#/operator', text: t.toOperator });
}

export function batchesView(context: ReviewContext): HTMLElement {
  const t = catalogue(context);
  const className = new Map(context.classes.map((c) => [c.class_id, c.name]));
  const sorted = [...context.batches].sort((a, b) => {
    const da = a.validation.due_at ? Date.parse(a.validation.due_at) : Infinity;
    const db = b.validation.due_at ? Date.parse(b.validation.due_at) : Infinity;
    if (da !== db) return da - db;
    return Date.parse(b.created_at) - Date.parse(a.created_at) || a.batch_id.localeCompare(b.batch_id);
  });
  const c = t.batchColumns;
  const rows = sorted.map((b) => {
    const marks = marksOf(b, context.now, context.stuckAfterMs);
    const decided = b.validation.confirmed + b.validation.rejected + b.validation.timeout_confirmed + b.validation.no_match;
    const label = `${b.course_code} ${b.class_id ? (className.get(b.class_id) ?? t.someClass) : t.guestClass} · ${shortId(b.batch_id)}`;
    return h(
      'tr',
      { 'data-batch': b.batch_id, class: marks.overdue ? 'overdue' : marks.stuck ? 'stuck' : null },
      h('th', { scope: 'row', 'data-label': c.batch }, h('a', { href: `#/batches/${b.batch_id}`, id: `open-${b.batch_id}` }, label)),
      h('td', { 'data-label': c.status, class: 'state-words' }, stateWords(t, b.state)),
      h('td', { class: 'num', 'data-label': c.waiting }, String(b.validation.pending)),
      h('td', { class: 'num', 'data-label': c.decided }, String(decided)),
      h(
        'td',
        { 'data-label': c.deadline },
        b.validation.due_at && b.validation.pending > 0 ? countdown(b.validation.due_at, context.now, context.language) : '—',
      ),
      h(
        'td',
        { 'data-label': c.marks },
        marks.overdue ? h('span', { class: 'badge badge-overdue' }, t.overdue) : null,
        marks.stuck
          ? h('span', { class: 'badge badge-stuck', title: t.stuckTitle(Math.round(context.stuckAfterMs / 60000)) }, t.stuck)
          : null,
        !marks.overdue && !marks.stuck ? '—' : null,
      ),
    );
  });
  const pending = context.deadlines.reduce((n, d) => n + d.pending_associations, 0);
  return h(
    'main',
    { id: 'view-batches' },
    h('h1', {}, t.batchesTitle),
    h('p', { id: 'batches-summary' }, t.batchesSummary(context.batches.length, pending, timeZone())),
    h(
      'table',
      { id: 'batches', class: 'cards' },
      h('caption', {}, t.batchesCaption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [c.batch, c.status, c.waiting, c.decided, c.deadline, c.marks].map((text) => h('th', { scope: 'col' }, text)),
        ),
      ),
      h('tbody', {}, rows.length > 0 ? rows : h('tr', {}, h('td', { colspan: 6 }, t.noBatches))),
    ),
  );
}

export function operatorView(context: ReviewContext, intents: Intents): HTMLElement {
  const t = catalogue(context);
  const n = context.operator;
  const item = (id: string, label: string, value: string) => h('div', { class: 'figure', id }, h('dt', {}, label), h('dd', {}, value));
  return h(
    'main',
    { id: 'view-operator' },
    h('h1', {}, t.operatorTitle),
    n === null
      ? h('p', {}, t.loading)
      : h(
          'dl',
          { class: 'figures' },
          item('op-overdue', t.opOverdue, String(n.deadlines_overdue)),
          item('op-stuck', t.opStuck(Math.round(n.stuck_after_ms / 60000)), String(n.batches_stuck)),
          item('op-outbox', t.opOutbox, `${n.oldest_unpublished_outbox_age_seconds.toFixed(1)} s`),
        ),
    h('p', {}, t.opNote),
    h('button', { type: 'button', id: 'op-refresh', onclick: () => intents.refreshOperator() }, t.refresh),
  );
}
