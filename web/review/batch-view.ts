import { acceptedNow, chartSvg, pathTaken } from './chart.ts';
import { h, shortId } from './dom.ts';
import { duration, localTime } from './i18n/index.ts';
import type { Catalogue } from './i18n/en.ts';
import { type EssayAnswer, type ReviewContext, answersByEssay, busyEssays } from './store.ts';
import { type Association, type AssociationStatus, type ChartGraph, type HistoryRow, PIPELINES, type Pipeline } from './types.ts';
import { type Intents, catalogue, countdown, drafts, stateWords } from './views.ts';

/** One batch: what it waits for, its essays with the suggestions and actions, its history; the chart behind "details". */

const percent = (score: number | null) => (score === null ? '—' : `${Math.round(score * 100)} %`);

/** Stable: by the file name the matcher sent, then by essay id; a decision never moves a row. */
export function rowOrder(associations: Association[]): Association[] {
  return [...associations].sort((a, b) => (a.filename ?? '').localeCompare(b.filename ?? '') || a.essay_id.localeCompare(b.essay_id));
}

function suggestionsOf(a: Association) {
  if (a.suggestions !== undefined) return [...a.suggestions].sort((x, y) => y.confidence_score - x.confidence_score);
  return [];
}

const essayLabel = (t: Catalogue, a: Association | undefined, essayId: string) => a?.filename ?? t.essayFallback(shortId(essayId));

const TEACHER_STATE = 'awaiting_student_validation.awaiting_teacher';
/** Where the batch machine takes CANCEL (visualizations/batch.json); in "ready" only before a pipeline. */
const CANCELLABLE = new Set([
  'awaiting_content_validation',
  'awaiting_student_validation.awaiting_suggestions',
  TEACHER_STATE,
  'student_validation_completed',
  'ready_for_pipeline_execution',
]);

function statusText(t: Catalogue, status: string): string {
  return Object.hasOwn(t.status, status) ? t.status[status as AssociationStatus] : t.state.other;
}

function answerText(t: Catalogue, answer: EssayAnswer | undefined): string {
  if (!answer) return '';
  if (answer.status === 'sending') return t.sending;
  if (answer.status === 'failed') return t.answerFailed(t.problem[answer.problem ?? 'other']);
  if (answer.result === null) return '';
  if (answer.result.outcome === 'refused') return t.answerRefused(t.refusal[answer.result.refusal]);
  return t.answerApplied(statusText(t, answer.result.status).toLowerCase());
}

function studentName(context: ReviewContext, studentId: string | null, fallback: string | null): string {
  const t = catalogue(context);
  const s = context.detail?.roster.find((r) => r.student_id === studentId);
  if (s?.is_unknown) return t.unknownStudent;
  if (s) return `${s.first_name} ${s.last_name}`;
  return fallback ?? (studentId ? shortId(studentId) : t.unknownStudent);
}

function actionsCell(context: ReviewContext, a: Association, intents: Intents, busy: boolean, label: string): Array<HTMLElement | string> {
  const t = catalogue(context);
  const asking = context.asking;
  if (asking?.kind === 'reject' && asking.essayId === a.essay_id) {
    return [
      h(
        'div',
        { class: 'ask', role: 'group', 'aria-labelledby': `ask-${a.essay_id}` },
        h('p', { id: `ask-${a.essay_id}` }, t.rejectAsk(label)),
        h(
          'button',
          { type: 'button', id: `reject-yes-${a.essay_id}`, class: 'danger', disabled: busy, onclick: () => intents.reject(a.essay_id) },
          t.rejectYes,
        ),
        h('button', { type: 'button', id: `reject-no-${a.essay_id}`, onclick: () => intents.stopAsking() }, t.keep),
      ),
    ];
  }
  const roster = context.detail?.roster.filter((s) => !s.is_unknown) ?? [];
  const picked = context.corrections[a.essay_id] ?? '';
  const selectId = `correct-to-${a.essay_id}`;
  return [
    a.suggested_student_id
      ? decisionButton(`confirm-${a.essay_id}`, t.confirmLabel(label), busy, () => intents.confirm(a.essay_id), t.confirm)
      : h('span', { class: 'pick-hint', id: `pick-${a.essay_id}` }, t.pickStudent),
    h(
      'span',
      { class: 'correct' },
      h('label', { for: selectId, class: 'visually-hidden' }, t.correctToLabel(label)),
      h(
        'select',
        { id: selectId, disabled: busy, onchange: (e: Event) => intents.pickCorrection(a.essay_id, (e.target as HTMLSelectElement).value) },
        h('option', { value: '', selected: picked === '' }, t.correctTo),
        roster.map((s) => h('option', { value: s.student_id, selected: picked === s.student_id }, `${s.first_name} ${s.last_name}`)),
      ),
      picked === ''
        ? null
        : decisionButton(`correct-${a.essay_id}`, t.correctLabel(label), busy, () => intents.correct(a.essay_id), t.correct),
    ),
    decisionButton(`reject-${a.essay_id}`, t.rejectLabel(label), busy, () => intents.askReject(a.essay_id), t.reject),
  ];
}

/**
 * Whether decided authors can still be corrected: validation is over and no pipeline was asked for
 * (the page counts any pipeline request; the API also takes a correction after a denied one).
 */
export function correcting(context: ReviewContext): boolean {
  const d = context.detail;
  const state = d?.batch?.state;
  if (!d?.batch || d.batch.class_id === null || (state !== 'student_validation_completed' && state !== 'ready_for_pipeline_execution'))
    return false;
  return !d.history.some((r) => r.outcome === 'applied' && eventOf(r.event_type) === 'PIPELINE_REQUESTED');
}

/** A decided essay after validation: pick its real author from the class and correct it. */
function amendCell(context: ReviewContext, a: Association, intents: Intents, busy: boolean, label: string): HTMLElement {
  const t = catalogue(context);
  const roster = context.detail?.roster.filter((s) => !s.is_unknown && s.student_id !== a.student_id) ?? [];
  const picked = context.corrections[a.essay_id] ?? '';
  const selectId = `amend-to-${a.essay_id}`;
  return h(
    'div',
    { class: 'buttons' },
    h(
      'span',
      { class: 'correct' },
      h('label', { for: selectId, class: 'visually-hidden' }, t.amendToLabel(label)),
      h(
        'select',
        { id: selectId, disabled: busy, onchange: (e: Event) => intents.pickCorrection(a.essay_id, (e.target as HTMLSelectElement).value) },
        h('option', { value: '', selected: picked === '' }, t.amendTo),
        roster.map((s) => h('option', { value: s.student_id, selected: picked === s.student_id }, `${s.first_name} ${s.last_name}`)),
      ),
      picked === '' || picked === a.student_id
        ? null
        : decisionButton(`amend-${a.essay_id}`, t.amendLabel(label), busy, () => intents.amend(a.essay_id), t.amend),
    ),
  );
}

/** A decision button of a row: its own name for a screen reader, disabled while the row's answer is awaited. */
function decisionButton(id: string, ariaLabel: string, disabled: boolean, onclick: () => void, text: string): HTMLElement {
  return h('button', { type: 'button', id, 'aria-label': ariaLabel, disabled, onclick }, text);
}

function row(context: ReviewContext, a: Association, intents: Intents, busy: Set<string>, answer: EssayAnswer | undefined): HTMLElement {
  const t = catalogue(context);
  const c = t.columns;
  // Decisions are taken only while the batch waits for the teacher (not once it is cancelled);
  // outside that state the "if nobody decides" and actions columns are left out.
  const deciding = context.detail?.batch?.state === TEACHER_STATE;
  const pending = a.validation_status === 'pending_validation' && deciding;
  const label = essayLabel(t, a, a.essay_id);
  const suggestions = suggestionsOf(a);
  const top = suggestions[0];
  const suggestedName = a.suggested_student_id ? (top?.student_name ?? studentName(context, a.suggested_student_id, null)) : null;
  const others = suggestions.slice(1);
  const ifNobody =
    a.if_no_decision === 'keep_suggestion' ? t.keepsSuggestion : a.if_no_decision === 'unknown_student' ? t.linksUnknown : '—';
  const decidedStudent =
    a.validation_status === 'confirmed' || a.validation_status === 'timeout_confirmed' ? (a.student?.name ?? null) : null;
  const status = a.validation_status === 'pending_validation' && !pending ? t.notDecided : statusText(t, a.validation_status);
  return h(
    'tr',
    { 'data-essay': a.essay_id, 'data-status': a.validation_status, class: pending ? 'pending' : 'decided' },
    h('th', { scope: 'row', 'data-label': c.essay, class: 'essay' }, label),
    h(
      'td',
      { 'data-label': c.suggested, class: 'suggested' },
      h('span', { class: 'student' }, suggestedName ?? h('em', {}, t.noSuggestion)),
      a.confidence_score === null
        ? null
        : h('span', { class: `level level-${a.confidence_level}` }, t.confidence(percent(a.confidence_score), t.level[a.confidence_level])),
      others.length === 0
        ? null
        : h(
            'div',
            { class: 'others' },
            h('span', { class: 'others-title' }, t.others),
            h(
              'ol',
              {},
              others.map((s) => h('li', {}, `${s.student_name} ${percent(s.confidence_score)}`)),
            ),
          ),
    ),
    deciding ? h('td', { 'data-label': c.ifNobody, class: 'if-nobody' }, pending ? ifNobody : '—') : null,
    h(
      'td',
      { 'data-label': c.status },
      h('span', { class: `status status-${a.validation_status}` }, decidedStudent ? t.statusWithStudent(status, decidedStudent) : status),
    ),
    deciding
      ? h(
          'td',
          { class: 'actions', 'data-label': c.actions },
          pending ? h('div', { class: 'buttons' }, actionsCell(context, a, intents, busy.has(a.essay_id), label)) : null,
          // A teacher's own decision can be taken back while the batch still waits; the deadline's cannot.
          !pending && a.validation_method === 'human'
            ? h(
                'div',
                { class: 'buttons' },
                h(
                  'button',
                  {
                    type: 'button',
                    id: `reopen-${a.essay_id}`,
                    'aria-label': t.reopenLabel(label),
                    disabled: busy.has(a.essay_id),
                    onclick: () => intents.reopen(a.essay_id),
                  },
                  t.reopen,
                ),
              )
            : null,
          h('p', { class: 'answer', id: `answer-${a.essay_id}`, tabindex: -1, 'aria-live': 'polite' }, answerText(t, answer)),
        )
      : correcting(context)
        ? h(
            'td',
            { class: 'actions', 'data-label': c.actions },
            a.validation_status === 'pending_validation' ? null : amendCell(context, a, intents, busy.has(a.essay_id), label),
            h('p', { class: 'answer', id: `answer-${a.essay_id}`, tabindex: -1, 'aria-live': 'polite' }, answerText(t, answer)),
          )
        : null,
  );
}

const schoolDate = (date: string, language: string) =>
  new Intl.DateTimeFormat(language, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).format(
    new Date(`${date}T00:00:00Z`),
  );

/** Why the deadline falls when it does, from the newest history row that says so. */
function deadlineWhy(context: ReviewContext): HTMLElement | null {
  const t = catalogue(context);
  const W = t.deadlineWhy;
  const row = [...(context.detail?.history ?? [])].reverse().find((r) => r.outcome === 'applied' && r.detail?.deadline_reason);
  const why = row?.detail?.deadline_reason;
  if (!why) return null;
  const parts: string[] = [];
  if (why.rule === 'elapsed') parts.push(W.elapsed(why.hours));
  else if (why.rule === 'moved') parts.push(W.moved(who(context, why.by)));
  else if (why.rule === 'resumed') parts.push(W.resumed(who(context, why.by), duration(why.remaining_ms, context.language)));
  else {
    if (why.calendar_changed_by) parts.push(W.calendarChanged(who(context, why.calendar_changed_by)));
    parts.push(W.schoolDays(why.days, localTime(context.detail?.batch?.validation.due_at ?? '', context.language)));
    const skipped = why.skipped.map((s) =>
      s.why === 'closed'
        ? W.closed(schoolDate(s.date, context.language), s.name ?? null)
        : W.notSchoolDay(schoolDate(s.date, context.language)),
    );
    if (skipped.length > 0) parts.push(W.passedOver(skipped.join(', ')));
    if (why.moved_to === 'opening') parts.push(W.movedToOpening);
    if (why.moved_to === 'closing') parts.push(W.movedToClosing);
  }
  return h('span', { id: 'deadline-why', class: 'why' }, ` ${parts.join(' ')}`);
}

/** The actor of a history row, as the teacher reads it: "You", another teacher, the deadline, HuleEdu. */
function who(context: ReviewContext, actor: string): string {
  const t = catalogue(context);
  if (context.auth?.kind === 'teacher' && actor === context.auth.teacher_id) return t.who.you;
  if (actor === 'timeout') return t.who.timeout;
  if (actor === 'service') return t.who.service;
  return t.who.teacher(actor);
}

function pipelineName(t: Catalogue, name: string | undefined): string {
  return name !== undefined && Object.hasOwn(t.pipelines, name) ? t.pipelines[name as Pipeline] : t.history.other;
}

/** The machine event behind a history row: service events are recorded under their topic (machines/events.ts WIRE_NAME). */
const TOPIC_EVENTS: Record<string, string> = {
  'huleedu.batch.content.provisioning.completed.v1': 'CONTENT_PROVISIONED',
  'huleedu.batch.author.matches.suggested.v1': 'AUTHOR_MATCHES_SUGGESTED',
  'huleedu.els.batch.essays.ready.v1': 'ESSAYS_READY',
  'huleedu.commands.batch.pipeline.v1': 'PIPELINE_REQUESTED',
  'huleedu.els.batch.validation.errors.v1': 'VALIDATION_ERRORS',
};
export const eventOf = (eventType: string) => TOPIC_EVENTS[eventType] ?? eventType;

/** One history row as a sentence, with the essays a decision settled listed under it. */
export function historyLine(context: ReviewContext, r: HistoryRow): Array<HTMLElement | string> {
  const t = catalogue(context);
  const H = t.history;
  if (r.outcome === 'refused') return [H.refused];
  if (r.outcome === 'late') return [H.late];
  const detail = r.detail ?? {};
  const byId = new Map((context.detail?.associations ?? []).map((a) => [a.essay_id, a]));
  const essays = (detail.decided ?? []).map((d) => {
    const essay = essayLabel(t, byId.get(d.essay_id), d.essay_id);
    const student = studentName(context, d.student_id, byId.get(d.essay_id)?.student?.name ?? null);
    const text =
      d.validation_status === 'confirmed'
        ? H.confirmedAs(essay, student)
        : d.validation_status === 'timeout_confirmed'
          ? H.keptAs(essay, student)
          : d.validation_status === 'no_match'
            ? H.linkedUnknown(essay)
            : H.rejected(essay);
    return h('li', { 'data-essay': d.essay_id }, text);
  });
  const reopened = (detail.reopened ?? []).map((d) =>
    h('li', { 'data-essay': d.essay_id }, H.reopenedEssay(essayLabel(t, byId.get(d.essay_id), d.essay_id))),
  );
  const corrected = (detail.corrected ?? []).map((d) =>
    h(
      'li',
      { 'data-essay': d.essay_id },
      H.correctedEssay(essayLabel(t, byId.get(d.essay_id), d.essay_id), studentName(context, d.student_id, null)),
    ),
  );
  const list = essays.length > 0 ? h('ul', { class: 'decided' }, essays) : null;
  const by = who(context, r.actor);
  switch (eventOf(r.event_type)) {
    case 'BATCH_REGISTERED':
      return [H.registered(by)];
    case 'CONTENT_PROVISIONED':
      return [H.provisioned];
    case 'AUTHOR_MATCHES_SUGGESTED':
      return [H.suggested];
    case 'TEACHER_DECISIONS':
      return [H.decided(by), ...(list ? [list] : [])];
    case 'TEACHER_REOPENED':
      return [
        H.reopened(by),
        ...(reopened.length > 0 ? [h('ul', { class: 'decided' }, reopened)] : []),
        ...(detail.reason ? [H.cancelReason(detail.reason)] : []),
      ];
    case 'TEACHER_CORRECTED':
      return [H.corrected(by), ...(corrected.length > 0 ? [h('ul', { class: 'decided' }, corrected)] : [])];
    case 'VALIDATION_TIMEOUT':
      return [H.timedOut, ...(list ? [list] : [])];
    case 'DEADLINE_CHANGED':
      return [detail.to_due_at ? H.deadlineMoved(by, localTime(detail.to_due_at, context.language)) : H.other];
    case 'VALIDATION_PAUSED':
      return [
        `${H.paused(by, duration(detail.remaining_ms ?? 0, context.language))}${detail.until ? ` ${H.pausedUntil(localTime(detail.until, context.language))}` : ''}`,
        ...(detail.reason ? [H.cancelReason(detail.reason)] : []),
      ];
    case 'VALIDATION_RESUMED': {
      const when = detail.to_due_at ? localTime(detail.to_due_at, context.language) : '';
      return [detail.automatic ? H.resumedByItself(when) : H.resumed(by, when)];
    }
    case 'CANCEL':
      return [`${H.cancelled(by)} ${detail.reason ? H.cancelReason(detail.reason) : H.noReason}`];
    case 'ESSAYS_READY':
      return [H.stored];
    case 'PIPELINE_REQUESTED':
      return [H.pipeline(by, pipelineName(t, detail.requested_pipeline))];
    case 'VALIDATION_ERRORS':
      return [H.validationErrors(detail.total_errors ?? 0)];
    default:
      return [H.other];
  }
}

const appliedOf = (history: HistoryRow[], type: string) => history.filter((r) => r.outcome === 'applied' && eventOf(r.event_type) === type);

/** What the batch waits for, in a sentence, for every state where the table alone would say nothing. */
function noteOf(context: ReviewContext): string[] {
  const t = catalogue(context);
  const d = context.detail!;
  const b = d.batch!;
  const requested = appliedOf(d.history, 'PIPELINE_REQUESTED').map((r) => pipelineName(t, r.detail?.requested_pipeline));
  const notes: string[] = [];
  if (b.state === 'cancelled') {
    notes.push(t.note.cancelled);
    const reason = appliedOf(d.history, 'CANCEL').at(-1)?.detail?.reason;
    if (reason) notes.push(t.note.cancelledReason(reason));
  } else if (b.state === 'content_ingestion_failed' || b.state === 'failed_critically') notes.push(t.note.failed);
  else if (b.class_id === null) notes.push(t.note.guest);
  else if (b.state === 'awaiting_content_validation') notes.push(t.note.awaitingContent);
  else if (b.state === 'awaiting_student_validation.awaiting_suggestions') notes.push(t.note.awaitingSuggestions);
  else if (b.state === 'student_validation_completed') notes.push(t.note.settled);
  else if (b.state === 'ready_for_pipeline_execution') notes.push(t.note.ready);
  if (b.class_id === null && b.state === 'awaiting_content_validation') notes.push(t.note.awaitingContent);
  for (const name of requested) notes.push(t.note.pipelineRequested(name));
  return notes;
}

function batchToolbar(context: ReviewContext, intents: Intents): HTMLElement | null {
  const t = catalogue(context);
  const d = context.detail!;
  const b = d.batch!;
  const busy = busyEssays(context);
  const sending = (kind: string) =>
    Object.values(context.actions).some((a) => a.batchId === b.batch_id && a.kind === kind && a.status === 'sending');
  const pipelineAsked = appliedOf(d.history, 'PIPELINE_REQUESTED').length > 0;
  const parts: HTMLElement[] = [];
  if (b.state === TEACHER_STATE) {
    const high = d.associations.filter((a) => a.validation_status === 'pending_validation' && a.confidence_level === 'high');
    if (high.length > 0) {
      parts.push(
        h(
          'button',
          {
            type: 'button',
            id: 'confirm-high',
            disabled: sending('confirm_high') || high.some((a) => busy.has(a.essay_id)),
            onclick: () => intents.confirmHigh(),
          },
          t.confirmHigh(high.length),
        ),
      );
    }
    if (b.validation.due_at !== null && b.validation.pending > 0) {
      parts.push(h('button', { type: 'button', id: 'extend', disabled: sending('extend'), onclick: () => intents.extend() }, t.extend));
      parts.push(decisionButton('pause', t.pauseLabel, sending('pause'), () => intents.pause(), t.pause));
    }
    if (b.validation.paused !== null && b.validation.pending > 0) {
      parts.push(decisionButton('resume', t.resumeLabel, sending('resume'), () => intents.resume(), t.resume));
    }
  }
  if (b.state === 'ready_for_pipeline_execution') {
    parts.push(
      h(
        'span',
        { class: 'pipeline', role: 'group', 'aria-labelledby': 'pipeline-title' },
        h('span', { id: 'pipeline-title', class: 'visually-hidden' }, t.pipelineTitle),
        h('label', { for: 'pipeline' }, t.pipelineLabel),
        h(
          'select',
          { id: 'pipeline', onchange: (e: Event) => intents.pickPipeline((e.target as HTMLSelectElement).value as Pipeline) },
          PIPELINES.map((p) => h('option', { value: p, selected: context.pipeline === p }, t.pipelines[p])),
        ),
        h(
          'button',
          { type: 'button', id: 'start-pipeline', class: 'primary', disabled: sending('pipeline'), onclick: () => intents.startPipeline() },
          t.startPipeline,
        ),
      ),
    );
  }
  const cancellable = CANCELLABLE.has(b.state) && !(b.state === 'ready_for_pipeline_execution' && pipelineAsked);
  if (cancellable && context.asking?.kind !== 'cancel') {
    parts.push(
      h(
        'button',
        { type: 'button', id: 'cancel', class: 'danger', disabled: sending('cancel'), onclick: () => intents.askCancel() },
        t.cancelBatch,
      ),
    );
  }
  const ask =
    cancellable && context.asking?.kind === 'cancel'
      ? h(
          'form',
          {
            class: 'ask',
            id: 'cancel-ask',
            'aria-labelledby': 'cancel-ask-text',
            onsubmit: (e: Event) => {
              e.preventDefault();
              intents.cancel(drafts.cancelReason);
            },
          },
          h('p', { id: 'cancel-ask-text' }, t.cancelAsk),
          h('label', { for: 'cancel-reason' }, t.cancelReason),
          h('input', {
            id: 'cancel-reason',
            type: 'text',
            maxlength: 500,
            autocomplete: 'off',
            value: drafts.cancelReason,
            oninput: (e: Event) => (drafts.cancelReason = (e.target as HTMLInputElement).value),
          }),
          h('button', { type: 'submit', id: 'cancel-yes', class: 'danger', disabled: sending('cancel') }, t.cancelYes),
          h('button', { type: 'button', id: 'cancel-no', onclick: () => intents.stopAsking() }, t.keep),
        )
      : null;
  if (parts.length === 0 && ask === null) return null;
  return h('div', { class: 'toolbar' }, parts, ask);
}

function batchAnswers(context: ReviewContext): string[] {
  const t = catalogue(context);
  const b = context.detail!.batch!;
  return Object.values(context.actions)
    .filter((a) => (a.batchId === b.batch_id && a.essayIds.length === 0) || (a.batchId === b.batch_id && a.kind === 'confirm_high'))
    .map((a) => {
      if (a.status === 'sending') return t.sending;
      if (a.status === 'failed') return t.answerFailed(t.problem[a.problem ?? 'other']);
      if (a.kind === 'extend') return a.dueAt ? t.extendDone(localTime(a.dueAt, context.language)) : t.sending;
      if (a.kind === 'pause') return t.pauseDone;
      if (a.kind === 'resume') return a.dueAt ? t.resumeDone(localTime(a.dueAt, context.language)) : t.sending;
      if (a.kind === 'confirm_high') return t.confirmHighDone(Object.values(a.results).filter((r) => r.outcome === 'applied').length);
      if (a.kind === 'pipeline') return t.pipelineStarted(t.pipelines[a.pipeline ?? 'nlp']);
      if (a.kind === 'cancel') return t.cancelDone;
      return '';
    });
}

function detailsSection(context: ReviewContext, graph: ChartGraph | null, rerender: () => void): HTMLElement {
  const t = catalogue(context);
  const d = context.detail!;
  const b = d.batch!;
  const path = pathTaken(d.history);
  const svg = chartSvg(b.state, path, rerender);
  const accepts = graph ? acceptedNow(graph, b.state) : [];
  return h(
    'section',
    { id: 'details', 'aria-labelledby': 'details-title' },
    h('h2', { id: 'details-title' }, t.detailsTitle),
    h('p', {}, t.machineState, h('code', { id: 'batch-state' }, b.state)),
    h('h3', { id: 'chart-title' }, t.chartTitle),
    h('div', {
      id: 'chart-svg',
      tabindex: 0,
      'data-rendered-state': svg === null ? '' : b.state,
      role: 'img',
      'aria-label': t.chartLabel(b.state),
    }),
    h('p', { id: 'chart-path' }, t.path, path.join(' → ')),
    h('h3', {}, t.acceptedNow),
    h(
      'ul',
      { id: 'accepted' },
      accepts.map((e) =>
        h('li', {}, h('code', {}, e.event), e.guard ? ` [${e.guard}]` : '', ` → ${e.target === '(stays)' ? t.stays : e.target}`),
      ),
    ),
    h('h3', {}, t.machineHistory),
    h(
      'ol',
      { id: 'history-machine' },
      d.history.map((r) =>
        h(
          'li',
          { 'data-seq': r.seq },
          h('time', {}, r.at ? localTime(r.at, context.language) : ''),
          ` ${r.event_type.replace(/^huleedu\./, '')} (${r.actor}) `,
          r.outcome === 'applied' ? `${r.from_state ?? '∅'} → ${r.to_state}` : `${r.outcome}: ${r.reason ?? ''}`,
        ),
      ),
    ),
  );
}

export function batchView(context: ReviewContext, intents: Intents, graph: ChartGraph | null, rerender: () => void): HTMLElement {
  const t = catalogue(context);
  const d = context.detail!;
  const b = d.batch;
  const back = h('p', {}, h('a', { href: '#/batches', id: 'back' }, t.back));
  if (d.missing)
    return h(
      'main',
      { id: 'view-batch-missing' },
      back,
      h('h1', {}, t.notFoundTitle),
      h('p', { id: 'missing', class: 'message' }, t.notFound),
    );
  if (b === null) return h('main', { id: 'view-batch' }, back, h('p', { id: 'batch-loading' }, t.loading));
  const busy = busyEssays(context);
  const answers = answersByEssay(context);
  const associations = rowOrder(d.associations);
  const due = b.validation.due_at;
  const c = t.columns;
  const notes = noteOf(context);

  return h(
    'main',
    { id: 'view-batch', 'data-state': b.state },
    back,
    h('h1', {}, t.batchTitle(b.course_code, shortId(b.batch_id))),
    h(
      'p',
      { class: 'summary' },
      h('strong', { id: 'batch-status' }, stateWords(t, b.state)),
      b.state === TEACHER_STATE && b.validation.pending > 0 ? ` · ${t.waitingCount(b.validation.pending)}` : '',
      ' · ',
      t.stream,
      h('span', { id: 'stream-status', class: `conn conn-${d.connection}` }, t.connection[d.connection]),
    ),
    due !== null && b.validation.pending > 0
      ? h('p', { id: 'deadline' }, t.deadlineLead, countdown(due, context.now, context.language), deadlineWhy(context))
      : b.validation.paused !== null && b.validation.pending > 0
        ? h(
            'p',
            { id: 'paused' },
            t.pausedLead(duration(b.validation.paused.remaining_ms, context.language)),
            b.validation.paused.until ? ` ${t.pausedUntil(localTime(b.validation.paused.until, context.language))}` : '',
          )
        : b.class_id !== null && (b.state === TEACHER_STATE || b.state === 'student_validation_completed')
          ? h('p', { id: 'no-deadline' }, t.noDeadline)
          : null,
    notes.length > 0
      ? h(
          'div',
          { id: 'batch-note', class: 'note' },
          notes.map((n) => h('p', {}, n)),
        )
      : null,
    batchToolbar(context, intents),
    h(
      'div',
      { id: 'batch-answers', role: 'status', 'aria-live': 'polite' },
      batchAnswers(context).map((text) => h('p', {}, text)),
    ),
    associations.length === 0
      ? null
      : h(
          'table',
          { id: 'associations', class: 'cards' },
          h('caption', {}, t.associationsCaption),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              (b.state === TEACHER_STATE
                ? [c.essay, c.suggested, c.ifNobody, c.status, c.actions]
                : correcting(context)
                  ? [c.essay, c.suggested, c.status, c.actions]
                  : [c.essay, c.suggested, c.status]
              ).map((text) => h('th', { scope: 'col' }, text)),
            ),
          ),
          h(
            'tbody',
            {},
            associations.map((a) => row(context, a, intents, busy, answers[a.essay_id])),
          ),
        ),
    h(
      'section',
      { id: 'history', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, t.historyTitle),
      h(
        'ol',
        { id: 'history-list' },
        d.history.map((r) =>
          h(
            'li',
            { 'data-seq': r.seq, class: `outcome-${r.outcome}` },
            h('time', {}, r.at ? localTime(r.at, context.language) : ''),
            ' ',
            ...historyLine(context, r),
          ),
        ),
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        id: 'details-toggle',
        'aria-expanded': context.showDetails ? 'true' : 'false',
        'aria-controls': 'details',
        onclick: () => intents.toggleDetails(),
      },
      context.showDetails ? t.details.hide : t.details.show,
    ),
    context.showDetails ? detailsSection(context, graph, rerender) : null,
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
