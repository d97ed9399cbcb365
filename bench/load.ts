import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sample } from './stats.ts';

/** One operation of a measurement, done by client number `client`. It throws if the answer is wrong. */
export type Operation = (client: number) => Promise<void>;

/**
 * Closed loop: `clients` callers, each issuing its next operation as soon as the last one returned,
 * for `durationMs`. The same generator drives the in-process calls and the HTTP ones.
 */
export async function closedLoop(clients: number, durationMs: number, op: Operation): Promise<Sample> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + durationMs;
  let ops = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await op(client);
        latencies.push(performance.now() - t0);
        ops++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { ops, elapsedMs: performance.now() - start, latencies, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Open loop at a fixed rate. Latency counts from when a request was due to start, not from when it
 * left, so a stalled server shows up in the percentiles instead of slowing the generator down.
 */
export async function fixedRate(ratePerS: number, durationMs: number, maxInFlight: number, op: Operation): Promise<Sample> {
  const interval = 1000 / ratePerS;
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  let failure: unknown = null;
  let i = 0;
  for (;;) {
    const due = start + i * interval;
    if (due >= start + durationMs || failure !== null) break;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const client = i % maxInFlight;
    const task: Promise<void> = op(client).then(
      () => {
        latencies.push(performance.now() - due);
        inFlight.delete(task);
      },
      (error: unknown) => {
        failure ??= error;
        inFlight.delete(task);
      },
    );
    inFlight.add(task);
    i++;
  }
  await Promise.all(inFlight);
  if (failure !== null) throw failure;
  return { ops: latencies.length, elapsedMs: performance.now() - start, latencies };
}
