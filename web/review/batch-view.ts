import { acceptedNow, chartSvg, pathTaken } from './chart.ts';
import { h, localTime, shortId } from './dom.ts';
import { type ReviewContext, answersByEssay, busyEssays } from './store.ts';
import type { Association, ChartGraph } from './types.ts';
import { type Intents, countdown } from './views.ts';

/** One batch: its essays with the suggestions and actions, the live chart and the history. */

const percent = (score: number | null) => (score === null ? '—' : `${Math.round(score * 100)} %`);

/** Stable: by the file name the matcher sent, then by essay id; a decision never moves a row. */
export function rowOrder(associations: Association[]): Association[] {
  return [...associations].sort((a, b) => (a.filename ?? '').localeCompare(b.filename ?? '') || a.essay_id.localeCompare(b.essay_id));
}

function suggestionsOf(a: Association) {
  if (a.suggestions !== undefined) return [...a.suggestions].sort((x, y) => y.confidence_score - x.confidence_score);
  return [];
}

function essayLabel(a: Association) {
  return a.filename ?? `essay ${shortId(a.essay_id)}`;
}

function row(context: ReviewContext, a: Association, intents: Intents, busy: Set<string>, answer: string | undefined): HTMLElement {
  const pending = a.validation_status === 'pending_validation';
  const label = essayLabel(a);
  const roster = context.detail?.roster.filter((s) => !s.is_unknown) ?? [];
  const picked = context.corrections[a.essay_id] ?? '';
  const disabled = !pending || busy.has(a.essay_id);
  const suggestions = suggestionsOf(a);
  const top = suggestions[0];
  const rostered = context.detail?.roster.find((s) => s.student_id === a.suggested_student_id);
  const suggestedName = top?.student_name ?? (rostered ? `${rostered.first_name} ${rostered.last_name}` : null);
  const others = suggestions.slice(1);
  const decision = a.if_no_decision === 'keep_suggestion' ? 'keeps the suggestion' : a.if_no_decision === 'unknown_student' ? 'UNKNOWN student' : '—';
  const selectId = `correct-to-${a.essay_id}`;
  return h(
    'tr',
    { 'data-essay': a.essay_id, 'data-status': a.validation_status },
    h('th', { scope: 'row' }, label),
    h('td', {}, suggestedName ?? (a.suggested_student_id ? shortId(a.suggested_student_id) : h('em', {}, 'no match'))),
    h('td', {}, `${percent(a.confidence_score)} `, h('span', { class: `level level-${a.confidence_level}` }, a.confidence_level)),
    h(
      'td',
      { class: 'others' },
      others.length === 0 ? '—' : h('ol', {}, others.map((s) => h('li', {}, `${s.student_name} ${percent(s.confidence_score)}`))),
    ),
    h('td', {}, pending ? decision : '—'),
    h('td', {}, h('span', { class: `status status-${a.validation_status}` }, a.validation_status), !pending && a.student ? ` → ${a.student.name}` : ''),
    h(
      'td',
      { class: 'actions' },
      h('button', { type: 'button', id: `confirm-${a.essay_id}`, 'aria-label': `Confirm ${label}`, disabled, onclick: () => intents.confirm(a.essay_id) }, 'Confirm'),
      h('label', { for: selectId, class: 'visually-hidden' }, `Correct ${label} to student`),
      h(
        'select',
        { id: selectId, disabled, onchange: (e: Event) => intents.pickCorrection(a.essay_id, (e.target as HTMLSelectElement).value) },
        h('option', { value: '', selected: picked === '' }, 'Correct to…'),
        roster.map((s) => h('option', { value: s.student_id, selected: picked === s.student_id }, `${s.first_name} ${s.last_name}`)),
      ),
      h(
        'button',
        { type: 'button', id: `correct-${a.essay_id}`, 'aria-label': `Apply correction of ${label}`, disabled: disabled || picked === '', onclick: () => intents.correct(a.essay_id) },
        'Correct',
      ),
      h('button', { type: 'button', id: `reject-${a.essay_id}`, 'aria-label': `Reject ${label}`, disabled, onclick: () => intents.reject(a.essay_id) }, 'Reject'),
    ),
    h('td', { class: 'answer', id: `answer-${a.essay_id}`, tabindex: -1, 'aria-live': 'polite' }, answer ?? ''),
  );
}

export function batchView(context: ReviewContext, intents: Intents, graph: ChartGraph | null, rerender: () => void): HTMLElement {
  const d = context.detail!;
  const b = d.batch;
  if (b === null) return h('main', { id: 'view-batch' }, h('p', {}, 'Loading the batch…'));
  const busy = busyEssays(context);
  const answers = answersByEssay(context);
  const associations = rowOrder(d.associations);
  const high = associations.filter((a) => a.validation_status === 'pending_validation' && a.confidence_level === 'high');
  const sendingBatch = (kind: string) => Object.values(context.actions).some((a) => a.batchId === b.batch_id && a.kind === kind && a.status === 'sending');
  const due = b.validation.due_at;
  const batchAnswers = Object.values(context.actions)
    .filter((a) => a.batchId === b.batch_id && (a.kind === 'extend' || a.kind === 'confirm_high'))
    .map((a) => `${a.kind === 'extend' ? 'Extend' : 'Confirm all high'}: ${a.status === 'sending' ? 'sending…' : (a.message ?? 'done')}`);

  const path = pathTaken(d.history);
  const svg = chartSvg(b.state, path, rerender);
  const accepts = graph ? acceptedNow(graph, b.state) : [];

  return h(
    'main',
    { id: 'view-batch', 'data-state': b.state },
    h('p', {}, h('a', { href: '#/batches', id: 'back' }, '← My batches')),
    h('h1', {}, `Batch ${b.course_code} · ${shortId(b.batch_id)}`),
    h(
      'p',
      { class: 'summary' },
      'State ',
      h('code', { id: 'batch-state' }, b.state),
      ` · ${b.validation.pending} pending · stream `,
      h('span', { id: 'stream-status', class: `conn conn-${d.connection}` }, d.connection),
    ),
    due !== null && b.validation.pending > 0
      ? h('p', { id: 'deadline' }, 'Automatic decision ', countdown(due, context.now))
      : h('p', { id: 'no-deadline' }, 'No automatic decision pending.'),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        { type: 'button', id: 'confirm-high', disabled: high.length === 0 || sendingBatch('confirm_high') || high.some((a) => busy.has(a.essay_id)), onclick: () => intents.confirmHigh() },
        `Confirm all with high confidence (${high.length})`,
      ),
      h('button', { type: 'button', id: 'extend', disabled: due === null || b.validation.pending === 0 || sendingBatch('extend'), onclick: () => intents.extend() }, 'Extend deadline by 24 h'),
    ),
    h('div', { id: 'batch-answers', role: 'status', 'aria-live': 'polite' }, batchAnswers.map((t) => h('p', {}, t))),
    h(
      'table',
      { id: 'associations' },
      h('caption', {}, 'Essays and suggested authors, by file name'),
      h(
        'thead',
        {},
        h('tr', {}, ['Essay file', 'Suggested student', 'Confidence', 'Other suggestions', 'If nobody decides', 'Status', 'Actions', 'Answer'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h('tbody', {}, associations.length > 0 ? associations.map((a) => row(context, a, intents, busy, answers[a.essay_id]?.outcome)) : h('tr', {}, h('td', { colspan: 8 }, 'No suggestions yet.'))),
    ),
    h(
      'div',
      { class: 'live' },
      h(
        'section',
        { id: 'chart', 'aria-labelledby': 'chart-title' },
        h('h2', { id: 'chart-title' }, 'Where this batch is in the statechart'),
        h('div', { id: 'chart-svg', 'data-rendered-state': svg === null ? '' : b.state, role: 'img', 'aria-label': `Batch statechart, current state ${b.state}` }),
        h('p', { id: 'chart-path' }, 'Path: ', path.join(' → ')),
        h('h3', {}, 'Accepted now'),
        h('ul', { id: 'accepted' }, accepts.map((e) => h('li', {}, h('code', {}, e.event), e.guard ? ` [${e.guard}]` : '', ` → ${e.target}`))),
      ),
      h(
        'section',
        { id: 'history', 'aria-labelledby': 'history-title' },
        h('h2', { id: 'history-title' }, 'History'),
        h(
          'ol',
          { id: 'history-list' },
          d.history.map((r) =>
            h(
              'li',
              { 'data-seq': r.seq, class: `outcome-${r.outcome}` },
              h('time', {}, r.at ? localTime(r.at) : ''),
              ` ${r.event_type.replace(/^huleedu\./, '')} `,
              r.outcome === 'applied' ? `${r.from_state ?? '∅'} → ${r.to_state}` : `${r.outcome}: ${r.reason ?? ''}`,
            ),
          ),
        ),
      ),
    ),
  );
}

/** The chart's SVG goes in after the view is built (innerHTML of Mermaid's own, sanitised, output). */
export function fillChart(root: ParentNode, context: ReviewContext, rerender: () => void) {
  const target = root.querySelector('#chart-svg');
  const b = context.detail?.batch;
  if (!target || !b) return;
  const svg = chartSvg(b.state, pathTaken(context.detail!.history), rerender);
  if (svg !== null) target.innerHTML = svg;
}
