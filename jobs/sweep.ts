import { validationTimeout } from '../app/commands.ts';
import { claimDueDeadlines } from '../app/deadlines.ts';
import type { ApplyOutcome } from '../app/apply.ts';
import type { Service } from '../app/service.ts';
import { repeatEvery } from './repeat.ts';

export interface SweepOptions {
  intervalMs: number;
  /** Deadlines claimed per round trip. */
  batchSize?: number;
  /** Deadlines applied at once. */
  concurrency?: number;
  /** How long a claim keeps other sweepers off a deadline. */
  leaseMs?: number;
  onError?: (error: unknown) => void;
  onFired?: (batchId: string, outcome: ApplyOutcome['kind']) => void;
}

/**
 * The safety net and, without Redis, the only scheduler: fires every due deadline that has not
 * been applied, whatever happened to its job. Several sweepers may run; claims keep them apart and
 * the timeout's event id makes a second application a duplicate.
 */
export function createSweep(service: Service, options: SweepOptions) {
  const batchSize = options.batchSize ?? 500;
  const concurrency = options.concurrency ?? 8;
  const leaseMs = options.leaseMs ?? 60_000;

  async function fire(claimed: Array<{ batch_id: string; version: number }>): Promise<void> {
    let next = 0;
    const lanes = Array.from({ length: Math.min(concurrency, claimed.length) }, async () => {
      while (next < claimed.length) {
        const d = claimed[next++]!;
        try {
          // A deadline the database finds due but this clock does not is left to its lease: the next pass takes it.
          const outcome = await service.apply(validationTimeout(d.batch_id, d.version, 'sweep', service.deadlineClockSkewMs));
          options.onFired?.(d.batch_id, outcome.kind);
        } catch (error) {
          // The claim expires after the lease and the next sweep tries again.
          options.onError?.(error);
        }
      }
    });
    await Promise.all(lanes);
  }

  /** One full pass: claims and fires until nothing due is left. Returns how many it fired. */
  async function runOnce(): Promise<number> {
    let fired = 0;
    for (;;) {
      const claimed = await claimDueDeadlines(service.db, batchSize, leaseMs);
      await fire(claimed);
      fired += claimed.length;
      if (claimed.length < batchSize || loop.stopped) return fired;
    }
  }

  const loop = repeatEvery(options.intervalMs, runOnce, (error) => options.onError?.(error));
  return {
    runOnce,
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
