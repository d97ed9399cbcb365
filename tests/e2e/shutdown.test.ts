import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseForSuite } from '../support/db.ts';
import { ROOT, startService } from '../support/process.ts';

describe('the service process', () => {
  const db = databaseForSuite('shutdown');

  it('finishes an in-flight request after SIGTERM, ends open event streams, then exits 0 and refuses new connections', async () => {
    const svc = await startService({ DATABASE_URL: db.url, DATA_DIR: mkdtempSync(join(tmpdir(), 'svc-')) });
    try {
      const token = svc.serviceToken;
      // An open SSE stream never finishes by itself; shutdown must end it or server.close() waits forever.
      const teacher = { authorization: `Bearer ${svc.teacherToken}`, 'content-type': 'application/json' };
      const registered = await fetch(new URL('/v1/batches', svc.base), {
        method: 'POST',
        headers: teacher,
        body: JSON.stringify({ course_code: 'ENG5', expected_essay_count: 1 }),
      });
      const { batch_id } = (await registered.json()) as { batch_id: string };
      const live = await fetch(new URL(`/v1/batches/${batch_id}/stream`, svc.base), { headers: teacher });
      expect(live.status).toBe(200);
      const streamEnded = live.text().catch((error: unknown) => `stream broke: ${String(error)}`);
      const url = new URL('/v1/events', svc.base);
      // Headers and half a body now; the rest after SIGTERM. The request is in flight throughout.
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          url,
          { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += String(d)));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
        req.write('{"event_type": "not.a.topic", ');
        setTimeout(() => {
          svc.child.kill('SIGTERM');
          setTimeout(() => req.end('"event_id": "x"}'), 300);
        }, 100);
      });
      const { status, body } = await answer;
      expect(status).toBe(400);
      expect(JSON.parse(body)).toMatchObject({ status: 400, title: 'Invalid request' });
      expect(await svc.exited).toBe(0);
      expect(await streamEnded).toContain('event: batch');
      expect(svc.output()).toContain('"msg":"stopped"');
      await expect(fetch(new URL('/healthz', svc.base))).rejects.toThrow();
    } finally {
      svc.child.kill('SIGKILL');
    }
  });

  it('stops when `npm start` gets SIGTERM on its own pid: the node process behind it drains and the port closes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'svc-npm-'));
    // The embedded database: a node left running would also keep holding DATA_DIR's lock.
    const svc = await startService({ DATABASE_URL: undefined, REDIS_URL: undefined, NODE_ENV: 'development', DATA_DIR: dataDir }, 'npm');
    try {
      expect((await fetch(new URL('/healthz', svc.base))).status).toBe(200);
      svc.child.kill('SIGTERM');
      expect(await svc.exited).toBe(0);
      expect(svc.output()).toContain('"msg":"stopped"');
      await expect(fetch(new URL('/healthz', svc.base))).rejects.toThrow();
    } finally {
      svc.child.kill('SIGKILL');
    }
  }, 120_000);

  it('refuses to start with a bad configuration value, naming the variable', async () => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'eighty', VALIDATION_TIMEOUT_MS: '-5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (d) => (output += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('PORT');
    expect(output).toContain('VALIDATION_TIMEOUT_MS');
    expect(output).not.toMatch(/at .*\.ts:\d+/);
  });
});
