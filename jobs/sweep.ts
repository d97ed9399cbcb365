import type { ApplyOutcome } from '../app/apply.ts';
import type { Service } from '../app/service.ts';
import { repeatEvery } from './repeat.ts';

export interface SweepOptions {
  intervalMs: number;
  /** Deadlines claimed per round trip. */
  batchSize?: number;
  /** Bursts of deadlines applied at once. */
  concurrency?: number;
  /** How long a claim keeps other sweepers off a deadline. */
  leaseMs?: number;
  onError?: (error: unknown) => void;
  onFired?: (batchId: string, outcome: ApplyOutcome['kind']) => void;
  /** Remind teachers this long before a deadline (VALIDATION_REMINDER_BEFORE_MS); 0 or absent: no reminders. */
  reminderLeadMs?: number;
  onReminded?: (batchId: string, deadlineVersion: number) => void;
}

/**
 * The safety net and, without Redis, the only scheduler: fires every due deadline that has not
 * been applied, whatever happened to its job. Several sweepers may run; claims keep them apart and
 * the timeout's event id makes a second application a duplicate.
 */
export function createSweep(service: Service, options: SweepOptions) {
  const batchSize = options.batchSize ?? 500;
  const concurrency = options.concurrency ?? 4;
  const leaseMs = options.leaseMs ?? 60_000;

  /** One full pass: claims and fires until nothing due is left. Returns how many it fired. */
  async function runOnce(): Promise<number> {
    if (options.reminderLeadMs) {
      for (const r of await service.remindDueDeadlines(options.reminderLeadMs)) options.onReminded?.(r.batch_id, r.version);
    }
    let fired = 0;
    for (;;) {
      // Claimed, then fired in bursts; one that fails is left to its lease and the next pass.
      const results = await service.fireDueDeadlines({ limit: batchSize, leaseMs, lanes: concurrency });
      for (const r of results) {
        if ('outcome' in r.result) options.onFired?.(r.batch_id, r.result.outcome.kind);
        else options.onError?.(r.result.error);
      }
      fired += results.length;
      if (results.length < batchSize || loop.stopped) return fired;
    }
  }

  const loop = repeatEvery(options.intervalMs, runOnce, (error) => options.onError?.(error));
  return {
    runOnce,
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
