import { h, localTime, shortId, timeLeft } from './dom.ts';
import type { ReviewContext } from './store.ts';
import type { BatchView } from './types.ts';

/** The sign-in, my-batches and operator views, drawn from the store's snapshot. */

export interface Intents {
  signIn(token: string): void;
  signOut(): void;
  open(batchId: string): void;
  back(): void;
  confirm(essayId: string): void;
  correct(essayId: string): void;
  pickCorrection(essayId: string, studentId: string): void;
  reject(essayId: string): void;
  confirmHigh(): void;
  extend(): void;
  refreshOperator(): void;
}

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

export function countdown(dueAt: string, now: number): HTMLElement {
  return h(
    'span',
    { class: 'countdown', 'data-due': dueAt, title: localTime(dueAt) },
    `${timeLeft(dueAt, now)} `,
    h('small', {}, `(${localTime(dueAt)})`),
  );
}

export function signInView(context: ReviewContext, intents: Intents): HTMLElement {
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
    h('label', { for: 'token' }, 'Teacher token (JWT) or service token'),
    (textarea = h('textarea', { id: 'token', name: 'token', rows: 4, required: true, autocomplete: 'off', spellcheck: 'false' }) as HTMLTextAreaElement),
    h('button', { type: 'submit', id: 'signin' }, 'Sign in'),
  );
  const dev =
    context.developmentTeachers.length === 0
      ? null
      : h(
          'section',
          { 'aria-labelledby': 'dev-title' },
          h('h2', { id: 'dev-title' }, 'Development teachers'),
          h('p', {}, 'Printed by npm start; offered here only while the service runs with development secrets.'),
          h(
            'ul',
            { class: 'plain' },
            context.developmentTeachers.map((t) =>
              h('li', {}, h('button', { type: 'button', id: `dev-${t.teacher_id}`, onclick: () => intents.signIn(t.token) }, `Sign in as ${t.teacher_id}`)),
            ),
          ),
        );
  return h('main', { id: 'view-signin' }, h('h1', {}, 'Sign in to review batches'), form, dev);
}

export function batchesView(context: ReviewContext, intents: Intents): HTMLElement {
  const className = new Map(context.classes.map((c) => [c.class_id, c.name]));
  const sorted = [...context.batches].sort((a, b) => {
    const da = a.validation.due_at ? Date.parse(a.validation.due_at) : Infinity;
    const db = b.validation.due_at ? Date.parse(b.validation.due_at) : Infinity;
    if (da !== db) return da - db;
    return Date.parse(b.created_at) - Date.parse(a.created_at) || a.batch_id.localeCompare(b.batch_id);
  });
  const rows = sorted.map((b) => {
    const marks = marksOf(b, context.now, context.stuckAfterMs);
    const decided = b.validation.confirmed + b.validation.rejected + b.validation.timeout_confirmed + b.validation.no_match;
    const label = `${b.course_code} ${b.class_id ? (className.get(b.class_id) ?? 'class') : 'GUEST'} · ${shortId(b.batch_id)}`;
    return h(
      'tr',
      { 'data-batch': b.batch_id, class: marks.overdue ? 'overdue' : marks.stuck ? 'stuck' : null },
      h('th', { scope: 'row' }, h('a', { href: `#/batches/${b.batch_id}`, id: `open-${b.batch_id}` }, label)),
      h('td', {}, h('code', {}, b.state)),
      h('td', { class: 'num' }, String(b.validation.pending)),
      h('td', { class: 'num' }, String(decided)),
      h('td', {}, b.validation.due_at && b.validation.pending > 0 ? countdown(b.validation.due_at, context.now) : '—'),
      h(
        'td',
        {},
        marks.overdue ? h('span', { class: 'badge badge-overdue' }, 'overdue') : null,
        marks.stuck ? h('span', { class: 'badge badge-stuck', title: `no change for over ${Math.round(context.stuckAfterMs / 60000)} min` }, 'stuck') : null,
      ),
    );
  });
  const pending = context.deadlines.reduce((n, d) => n + d.pending_associations, 0);
  return h(
    'main',
    { id: 'view-batches' },
    h('h1', {}, 'My batches'),
    h('p', {}, `${context.batches.length} batches, ${pending} essays waiting for a decision. Times are in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`),
    h(
      'table',
      { id: 'batches' },
      h('caption', {}, 'Soonest automatic decision first'),
      h('thead', {}, h('tr', {}, ['Batch', 'State', 'Pending', 'Decided', 'Automatic decision', 'Marks'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length > 0 ? rows : h('tr', {}, h('td', { colspan: 6 }, 'No batches yet.'))),
    ),
  );
}

export function operatorView(context: ReviewContext, intents: Intents): HTMLElement {
  const n = context.operator;
  const item = (id: string, label: string, value: string) => h('div', { class: 'figure', id }, h('dt', {}, label), h('dd', {}, value));
  return h(
    'main',
    { id: 'view-operator' },
    h('h1', {}, "Operators' numbers"),
    n === null
      ? h('p', {}, 'Loading…')
      : h(
          'dl',
          { class: 'figures' },
          item('op-overdue', 'Deadlines overdue (due, not applied)', String(n.deadlines_overdue)),
          item('op-stuck', `Batches stuck waiting longer than ${Math.round(n.stuck_after_ms / 60000)} min`, String(n.batches_stuck)),
          item('op-outbox', 'Oldest unpublished outbox row', `${n.oldest_unpublished_outbox_age_seconds.toFixed(1)} s`),
        ),
    h('p', {}, 'The same figures are gauges on ', h('a', { href: '/metrics' }, '/metrics'), '. Only the Redis relay marks outbox rows published, so without REDIS_URL the outbox age only grows.'),
    h('button', { type: 'button', id: 'op-refresh', onclick: () => intents.refreshOperator() }, 'Refresh'),
  );
}
