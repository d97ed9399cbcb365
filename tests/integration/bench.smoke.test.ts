import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL } from '../support/env.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every measurement of contract section 7, by the name its JSON line carries in tiny mode. */
const EXPECTED = [
  'P2@1',
  'P2@8',
  'P3@1',
  'P3@8',
  'H@1',
  'H@8',
  'A@1/30',
  'C@1/30',
  'P-rows@8/4',
  'A@8/4',
  'A-rows@8/4',
  'C@8/4',
  'D@8/4',
  'P-rows@8/30',
  'A@8/30',
  'A-rows@8/30',
  'C@8/30',
  'D@8/30',
  'K@8/4',
  'K@8/30',
  'KR-bare',
  'KR',
  'C-flat',
  'D-flat',
  'C-half',
  'Q',
  'PB',
  'P-burst',
  'T-bullmq',
  'T-bullmq-rows',
  'T-sweep',
  'T-sweep-rows',
  'T-lateness',
  'M@20',
  'M@60',
];

function runBench(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench in tiny mode', () => {
  it('prints one parseable JSON line per measurement as its last lines and leaves no database or Redis keys behind', async () => {
    const tag = randomBytes(4).toString('hex');
    const databaseName = `bench_smoke_${tag}`;
    const result = await runBench({
      BENCH_SCALE: 'tiny',
      BENCH_DATABASE: databaseName,
      BENCH_REDIS_PREFIX: `bench-smoke-${tag}`,
      DATABASE_URL,
      REDIS_URL,
    });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);

    const lines = result.stdout.trimEnd().split('\n').slice(-EXPECTED.length);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((p) => p.name)).toEqual(EXPECTED);
    for (const line of parsed) {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['name', 'ops_per_s', 'p50_ms', 'p99_ms', 'ratio_to', 'ratio']));
      expect(line.ops_per_s).toBeGreaterThan(0);
      expect(typeof line.p50_ms).toBe('number');
      expect(typeof line.p99_ms).toBe('number');
      if (line.ratio_to !== null) {
        expect(EXPECTED).toContain(line.ratio_to);
        expect(line.ratio).toBeGreaterThan(0);
      }
    }
    for (const essays of [4, 30]) {
      expect(parsed.find((p) => p.name === `A@8/${essays}`)).toMatchObject({ ratio_to: 'P3@8' });
      expect(parsed.find((p) => p.name === `C@8/${essays}`)).toMatchObject({ ratio_to: 'P3@8' });
    }
    expect(parsed.find((p) => p.name === 'H@8')).toMatchObject({ ratio_to: 'P2@8' });
    // Events through Kafka, beside the same mix over HTTP (.ci/run installs the mock cluster).
    expect(parsed.find((p) => p.name === 'K@8/4')).toMatchObject({ ratio_to: 'C@8/4' });
    expect(parsed.find((p) => p.name === 'K@8/30')).toMatchObject({ ratio_to: 'C@8/30' });
    // Outbound through the relay's Kafka sink, beside a bare producer sending the same messages.
    expect(parsed.find((p) => p.name === 'KR-bare')).toMatchObject({ messages: expect.any(Number), total_ms: expect.any(Number) });
    expect(parsed.find((p) => p.name === 'KR')).toMatchObject({
      ratio_to: 'KR-bare',
      messages: parsed.find((p) => p.name === 'KR-bare')!.messages,
    });
    expect(parsed.find((p) => p.name === 'KR')!.messages).toBeGreaterThanOrEqual(300);
    // The flatness lines carry the 30-essay figures, compared with the 4-essay point of the same run.
    const byName = (name: string) => parsed.find((p) => p.name === name)!;
    expect(byName('C-flat')).toMatchObject({ ratio_to: 'C@8/4', ops_per_s: byName('C@8/30').ops_per_s });
    expect(byName('D-flat')).toMatchObject({ ratio_to: 'D@8/4', ops_per_s: byName('D@8/30').ops_per_s });
    expect(byName('PB')).toMatchObject({ jobs: 60, total_ms: expect.any(Number) });
    expect(byName('T-bullmq')).toMatchObject({ ratio_to: 'PB', deadlines: 60 });
    expect(byName('T-sweep')).toMatchObject({ ratio_to: 'PB', deadlines: 60 });
    expect(parsed.find((p) => p.name === 'M@60')).toMatchObject({ ratio_to: 'M@20', rss_mb: expect.any(Number) });

    const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const left = await admin`SELECT 1 FROM pg_database WHERE datname = ${databaseName}`;
      expect(left).toHaveLength(0);
    } finally {
      await admin.end();
    }
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.keys(`bench-smoke-${tag}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 240_000);
});
