import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';

/**
 * BENCH_CPU_PROFILE_DIR: a V8 CPU profile of each measured run of a point, taken in-process around
 * that run alone (no fixtures or warm-up), written as `<point>.r<round>.cpuprofile`. The bench
 * process holds the HTTP server as well as the load generator, so C's profile shows both.
 * Summarise with `node --import tsx bench/profile-summary.ts <file>`.
 */
export async function profiled<T>(dir: string | undefined, label: string, run: () => Promise<T>): Promise<T> {
  if (!dir) return run();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const result = await run();
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${label.replace(/[^\w@.-]/g, '_')}.cpuprofile`), JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}
