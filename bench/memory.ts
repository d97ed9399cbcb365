import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { withTimeout } from './bullmq-baseline.ts';
import { contentProvisioned, freshEssays } from './events.ts';
import type { BatchPool } from './mix.ts';
import { httpClient } from './http-client.ts';
import type { Sample } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Resident set size of a process, from /proc (Linux), in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

interface ServerProcess {
  child: ChildProcess;
  origin: string;
  serviceToken: string;
  jwtSecret: string;
  stop(): Promise<void>;
}

/** `npm start` as an operator runs it (API role, no Redis), in a process of its own so its RSS is its own. */
export async function startServerProcess(databaseUrl: string): Promise<ServerProcess> {
  const serviceToken = `svc_${randomBytes(16).toString('hex')}`;
  const jwtSecret = randomBytes(32).toString('hex');
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      ROLE: 'api',
      PORT: '0',
      INTERNAL_PORT: '0',
      DATA_DIR: tmpdir(),
      JWT_SECRET: jwtSecret,
      SERVICE_TOKEN: serviceToken,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = await withTimeout(
    new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /service on http:\/\/localhost:(\d+)/.exec(output);
        if (match) resolve(`http://127.0.0.1:${match[1]}`);
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
    }),
    60_000,
    () => `server did not start:\n${output}`,
  );
  return {
    child,
    origin,
    serviceToken,
    jwtSecret,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface MemoryPoint {
  batches: number;
  rssMb: number;
  sample: Sample;
}

/**
 * M: the server's RSS after it applied events to the first `marks[0]` batches and then to
 * `marks[1]` batches in all, one CONTENT_PROVISIONED each, eight clients over HTTP. A warm-up on
 * other batches comes first, so the first reading is past JIT and pool start-up.
 */
export async function memoryGrowth(databaseUrl: string, pool: BatchPool, marks: number[], warmup: number, essays: number) {
  await pool.ensure(warmup + marks.at(-1)!);
  const server = await startServerProcess(databaseUrl);
  const client = httpClient(server.origin, 8);
  const pid = server.child.pid!;
  try {
    const provisionBatches = async (count: number): Promise<Sample> => {
      const latencies: number[] = [];
      let left = count;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (left > 0) {
            left--;
            const batch = await pool.take();
            const t0 = performance.now();
            await client.post('/v1/events', contentProvisioned(batch.batchId, batch.cls, freshEssays(essays)), server.serviceToken);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      return { ops: count, elapsedMs: performance.now() - start, latencies };
    };
    await provisionBatches(warmup);
    const points: MemoryPoint[] = [];
    let done = 0;
    for (const mark of marks) {
      const sample = await provisionBatches(mark - done);
      done = mark;
      points.push({ batches: mark, rssMb: rssMb(pid), sample });
      process.stderr.write(`  server RSS after ${mark} batches: ${rssMb(pid).toFixed(1)} MB\n`);
    }
    return points;
  } finally {
    await client.close();
    await server.stop();
  }
}
