/**
 * A hand-written reference of the REGULAR flow, from the domain rules (not from the machines):
 * what each step should do to one batch that has been provisioned. The property test steps it
 * beside the real application and compares.
 */

export type Phase = 'suggestions' | 'teacher' | 'completed' | 'ready' | 'cancelled';

export const STATE_OF: Record<Phase, string> = {
  suggestions: 'awaiting_student_validation.awaiting_suggestions',
  teacher: 'awaiting_student_validation.awaiting_teacher',
  completed: 'student_validation_completed',
  ready: 'ready_for_pipeline_execution',
  cancelled: 'cancelled',
};

export interface RefAssociation {
  status: 'pending_validation' | 'confirmed' | 'rejected' | 'timeout_confirmed' | 'no_match';
  /** A student id, `UNKNOWN` for the class's UNKNOWN student, or null. */
  student: string | null;
  method: 'human' | 'timeout' | null;
  by: string | null;
  at: number | null;
}

export interface Best {
  student: string;
  score: number;
}

export type Expect = 'applied' | 'refused' | 'duplicate' | 'not_due';

export type Decision =
  | { essay: string; how: 'confirm' }
  | { essay: string; how: 'reject' }
  | { essay: string; how: 'correct'; student: string; inClass: boolean };

export class Reference {
  phase: Phase = 'suggestions';
  stored = false;
  dueAt: number | null = null;
  /** The current deadline's version; 0 before the first deadline. */
  deadlineVersion = 0;
  timeoutTriggered = false;
  pipelineRequested = false;
  /** StudentAssociationsConfirmedV1 went out (exactly once, when nothing was left pending). */
  confirmed = false;
  associations = new Map<string, RefAssociation>();
  readonly applied = new Set<string>();

  constructor(
    readonly essays: string[],
    readonly best: Map<string, Best | null>,
    readonly timeoutMs: number,
    readonly teacher: string,
  ) {}

  /** Steps that were applied once are duplicates when their id comes again. */
  private once(eventId: string, step: () => Expect): Expect {
    if (this.applied.has(eventId)) return 'duplicate';
    const outcome = step();
    if (outcome === 'applied') this.applied.add(eventId);
    return outcome;
  }

  private settleIfDone() {
    if (this.phase !== 'teacher') return;
    if ([...this.associations.values()].some((a) => a.status === 'pending_validation')) return;
    this.phase = this.stored ? 'ready' : 'completed';
    this.dueAt = null;
    this.confirmed = true;
  }

  suggest(eventId: string, now: number): Expect {
    return this.once(eventId, () => {
      if (this.phase !== 'suggestions') return 'refused';
      for (const essay of this.essays) {
        this.associations.set(essay, {
          status: 'pending_validation',
          student: this.best.get(essay)?.student ?? null,
          method: null,
          by: null,
          at: null,
        });
      }
      this.phase = 'teacher';
      this.deadlineVersion += 1;
      this.dueAt = now + this.timeoutMs;
      return 'applied';
    });
  }

  essaysReady(eventId: string): Expect {
    return this.once(eventId, () => {
      if ((this.phase === 'suggestions' || this.phase === 'teacher') && !this.stored) {
        this.stored = true;
        return 'applied';
      }
      if (this.phase === 'completed') {
        this.stored = true;
        this.phase = 'ready';
        return 'applied';
      }
      return 'refused';
    });
  }

  decide(eventId: string, decisions: Decision[], now: number): Expect {
    return this.once(eventId, () => {
      if (this.phase !== 'teacher') return 'refused';
      let any = false;
      for (const d of decisions) {
        const a = this.associations.get(d.essay);
        if (!a || a.status !== 'pending_validation') continue;
        const decided = { method: 'human' as const, by: this.teacher, at: now };
        if (d.how === 'reject') Object.assign(a, { status: 'rejected', student: null, ...decided });
        else if (d.how === 'correct' && d.inClass) Object.assign(a, { status: 'confirmed', student: d.student, ...decided });
        else if (d.how === 'confirm' && this.best.get(d.essay))
          Object.assign(a, { status: 'confirmed', student: this.best.get(d.essay)!.student, ...decided });
        else continue;
        any = true;
      }
      if (!any) return 'refused';
      this.settleIfDone();
      return 'applied';
    });
  }

  extend(eventId: string, byMs: number): Expect {
    return this.once(eventId, () => {
      if (this.phase !== 'teacher' || this.dueAt === null) return 'refused';
      this.dueAt += byMs;
      this.deadlineVersion += 1;
      return 'applied';
    });
  }

  timeout(eventId: string, version: number, now: number): Expect {
    return this.once(eventId, () => {
      if (this.phase !== 'teacher' || version !== this.deadlineVersion) return 'refused';
      // The deadline guard: a timer that fires before its deadline changes nothing.
      if (this.dueAt !== null && now < this.dueAt) return 'not_due';
      for (const [essay, a] of this.associations) {
        if (a.status !== 'pending_validation') continue;
        const best = this.best.get(essay);
        const keep = best !== null && best !== undefined && best.score >= 0.7;
        Object.assign(a, {
          status: keep ? 'timeout_confirmed' : 'no_match',
          student: keep ? best.student : 'UNKNOWN',
          method: 'timeout',
          by: 'SYSTEM_TIMEOUT',
          at: now,
        });
      }
      this.timeoutTriggered = true;
      this.settleIfDone();
      return 'applied';
    });
  }

  cancel(eventId: string): Expect {
    return this.once(eventId, () => {
      // As the real orchestrator: once a pipeline was requested the batch can no longer be cancelled.
      if (this.pipelineRequested || this.phase === 'cancelled') return 'refused';
      this.phase = 'cancelled';
      this.dueAt = null;
      return 'applied';
    });
  }

  pipeline(eventId: string): Expect {
    return this.once(eventId, () => {
      // The batch stays ready while its pipelines run; each accepted request commands spellcheck.
      if (this.phase !== 'ready') return 'refused';
      this.pipelineRequested = true;
      return 'applied';
    });
  }

  /** What the deadline preview should say now: pending, kept by the 0.7 rule, linked to UNKNOWN. */
  preview() {
    const pending = [...this.associations].filter(([, a]) => a.status === 'pending_validation');
    const keep = pending.filter(([essay]) => (this.best.get(essay)?.score ?? 0) >= 0.7 && this.best.get(essay) !== null).length;
    return { pending: pending.length, keep, unknown: pending.length - keep };
  }
}
