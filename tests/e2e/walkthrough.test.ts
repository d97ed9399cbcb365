import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseForSuite } from '../support/db.ts';
import { DATABASE_URL, REDIS_URL } from '../support/env.ts';
import { ROOT, type RunningService, startService } from '../support/process.ts';

function runWalkthrough(svc: RunningService): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(ROOT, 'scripts/walkthrough.sh')], {
      env: { ...process.env, BASE: svc.base, SERVICE_TOKEN: svc.serviceToken, TEACHER_TOKEN: svc.teacherToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** The README's walk-through, run with curl against the real process, as a newcomer would. */
describe('the README walk-through', () => {
  let svc: RunningService | null = null;
  afterAll(() => {
    svc?.child.kill('SIGKILL');
  });

  it('runs on a fresh start with no environment at all (embedded PGlite, sweep only)', async () => {
    const env = { DATABASE_URL: undefined, REDIS_URL: undefined, DATA_DIR: mkdtempSync(join(tmpdir(), 'fresh-')) };
    svc = await startService(env);
    expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
    expect(svc.output()).toContain('embedded PGlite');
    const run = await runWalkthrough(svc);
    expect(run.output).toContain('walk-through complete');
    expect(run.code).toBe(0);
    expect(run.output).toMatch(
      /applied\thuleedu\.els\.batch\.essays\.ready\.v1\tstudent_validation_completed -> ready_for_pipeline_execution/,
    );
    svc.child.kill('SIGTERM');
    expect(await svc.exited).toBe(0);
    svc = null;
  });

  describe('against PostgreSQL and Redis', () => {
    const db = databaseForSuite('walkthrough');

    it('runs the same way with DATABASE_URL and REDIS_URL', async () => {
      expect(DATABASE_URL).toMatch(/^postgres/);
      const prefix = `walkthrough-${db.url.split('/').pop()}`;
      svc = await startService({
        DATABASE_URL: db.url,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        STREAM_PREFIX: `${prefix}:`,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'pg-')),
      });
      expect(svc.output()).toContain('BullMQ + sweep');
      const run = await runWalkthrough(svc);
      expect(run.output).toContain('walk-through complete');
      expect(run.code).toBe(0);
      svc.child.kill('SIGTERM');
      expect(await svc.exited).toBe(0);
      svc = null;
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.some((k) => k.startsWith(`${prefix}:huleedu.`))).toBe(true);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });
  });
});
