import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/poll.ts';
import { EMBEDDED_DEVELOPMENT, ROOT, type RunningService, startService } from '../support/process.ts';

/**
 * Issue 10 item 4 with real processes: the embedded database's DATA_DIR takes one process. A second
 * `npm start` or `npm run worker` on it refuses with one sentence naming the holder; a lock left by
 * a process killed with SIGKILL does not block the next start, and what it wrote is still there.
 */

const spawned: Array<ReturnType<typeof spawn>> = [];

/** Runs main.ts to its end (it should refuse to start) and returns its exit code and output. */
function runToExit(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const clean = Object.fromEntries(
    Object.entries({ ...process.env, PORT: '0', INTERNAL_PORT: '0', ...EMBEDDED_DEVELOPMENT, ...env }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    }),
  );
}

describe('one process per embedded DATA_DIR', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'huleedu-lock-'));
  const started: RunningService[] = [];
  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a second npm start and a worker on the same DATA_DIR, then starts after the first is killed -9', async () => {
    const first = await startService({ ...EMBEDDED_DEVELOPMENT, DATA_DIR: dataDir });
    started.push(first);
    const auth = { authorization: `Bearer ${first.teacherToken}`, 'content-type': 'application/json' };
    const created = await fetch(`${first.base}/v1/classes`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'Kept', course_code: 'ENG5' }),
    });
    expect(created.status).toBe(201);
    const classId = ((await created.json()) as { class_id: string }).class_id;

    for (const role of ['all', 'worker']) {
      const second = await runToExit({ DATA_DIR: dataDir, ROLE: role });
      expect(second.code, second.output).not.toBe(0);
      expect(second.output).toContain(`in use by process ${first.child.pid}`);
      expect(second.output).toContain('DATABASE_URL');
      expect(second.output).not.toMatch(/\n\s+at /); // one sentence, no stack trace
    }
    // The first process is unharmed.
    expect((await fetch(`${first.base}/v1/classes/${classId}/students`, { headers: auth })).status).toBe(200);

    first.child.kill('SIGKILL');
    await first.exited;
    const next = await startService({ ...EMBEDDED_DEVELOPMENT, DATA_DIR: dataDir });
    started.push(next);
    const roster = await fetch(`${next.base}/v1/classes/${classId}/students`, {
      headers: { authorization: `Bearer ${next.teacherToken}` },
    });
    expect(roster.status).toBe(200);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  }, 180_000);

  /** Runs `command` in a shell of its own process group and waits for the service's banner in its output. */
  async function startInShell(command: string, env: Record<string, string | undefined>) {
    const clean = Object.fromEntries(
      Object.entries({ ...process.env, PORT: '0', ...EMBEDDED_DEVELOPMENT, ...env }).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    const child = spawn('sh', ['-c', command], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    spawned.push(child);
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited: ${output}`);
        return /service on http:\/\/localhost:\d+/.test(output);
      },
      150_000,
      50,
    );
    return { child, output: () => output };
  }

  it('starts at once when the holder was killed -9 and lingers as a zombie nobody reaps', async () => {
    const dir = join(dataDir, 'zombie');
    // sh starts the service, prints its pid, then becomes `sleep`, which never reaps it: once killed it stays a zombie.
    const holder = await startInShell(`"${process.execPath}" --import tsx main.ts & echo "holder $!"; exec sleep 600`, { DATA_DIR: dir });
    const pid = Number(/holder (\d+)/.exec(holder.output())![1]);
    process.kill(pid, 'SIGKILL');
    await eventually(async () => /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), 10_000, 20);

    const next = await startService({ ...EMBEDDED_DEVELOPMENT, DATA_DIR: dir });
    started.push(next);
    expect((await fetch(`${next.base}/readyz`)).status).toBe(200);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    process.kill(-holder.child.pid!, 'SIGKILL');
  }, 300_000);

  it('refuses ROLE=api on the embedded database with one sentence', async () => {
    const api = await runToExit({ DATA_DIR: join(dataDir, 'api'), ROLE: 'api' });
    expect(api.code).not.toBe(0);
    expect(api.output).toMatch(/ROLE=api needs DATABASE_URL/);
  }, 60_000);
});
