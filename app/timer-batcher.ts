import type { DueTimer, FiredTimer } from './burst.ts';
import type { ApplyOutcome } from './requests.ts';

/**
 * Groups timers that fire one at a time (BullMQ hands each job to its own handler) into bursts:
 * every timer that arrives within `windowMs` of the first, up to `maxBatch`, is fired together,
 * and each caller gets its own outcome or error.
 */
export function createTimerBatcher(fire: (timers: DueTimer[]) => Promise<FiredTimer[]>, maxBatch: number, windowMs = 2) {
  let pending: Array<{ timer: DueTimer; resolve: (outcome: ApplyOutcome) => void; reject: (error: unknown) => void }> = [];
  let timer: NodeJS.Timeout | null = null;

  function flush(): void {
    timer = null;
    const batch = pending;
    pending = [];
    fire(batch.map((b) => b.timer)).then(
      (results) =>
        results.forEach((r, i) => {
          if ('error' in r.result) batch[i]!.reject(r.result.error);
          else batch[i]!.resolve(r.result.outcome);
        }),
      (error) => batch.forEach((b) => b.reject(error)),
    );
  }

  return function fireOne(due: DueTimer): Promise<ApplyOutcome> {
    return new Promise((resolve, reject) => {
      pending.push({ timer: due, resolve, reject });
      if (pending.length >= maxBatch) {
        if (timer) clearTimeout(timer);
        flush();
      } else if (!timer) {
        timer = setTimeout(flush, windowMs);
      }
    });
  };
}
