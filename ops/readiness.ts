/** Something /readyz asks; a rejection (or no answer in time) makes the instance not ready. */
export type ReadinessCheck = () => Promise<unknown>;

/** Races a call against a timer: a Redis client with unbounded retries would otherwise wait forever. */
export function withinMs<T>(ms: number, check: () => Promise<T>): () => Promise<T> {
  return () =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      check().then(
        (value) => (clearTimeout(timer), resolve(value)),
        (error: unknown) => (clearTimeout(timer), reject(error)),
      );
    });
}

/** A round trip to Redis through the queue itself: if BullMQ cannot count its jobs, timers cannot work. */
export function queueAnswers(queue: { getJobCounts(...types: string[]): Promise<unknown> }, timeoutMs = 1000): ReadinessCheck {
  return withinMs(timeoutMs, () => queue.getJobCounts('waiting'));
}
