import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/**
 * One service process (`npm start`'s main.ts) the chaos run can kill -9 and start again on the same
 * port; it counts how often the process exited without being killed by the run.
 */
export interface ServiceProcess {
  name: string;
  /** http://127.0.0.1:port for an API, null for a worker. */
  base: string | null;
  start(): Promise<void>;
  /** SIGKILL to the process group (node and anything it started). */
  kill(): Promise<void>;
  /** SIGTERM, waiting (bounded) for its exit. */
  stop(): Promise<void>;
  /** Exits the run did not cause, with their code and the last lines of output. */
  unexpectedExits: string[];
  pid(): number | undefined;
}

export function serviceProcess(name: string, env: Record<string, string | undefined>, port: number | null): ServiceProcess {
  let child: ChildProcess | null = null;
  let output = '';
  let killing = false;
  const self: ServiceProcess = {
    name,
    base: port === null ? null : `http://127.0.0.1:${port}`,
    unexpectedExits: [],
    pid: () => child?.pid,
    async start() {
      output = '';
      killing = false;
      const clean = Object.fromEntries(
        Object.entries({ ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port ?? 0) }).filter(([, v]) => v !== undefined),
      ) as Record<string, string>;
      const started = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
        cwd: ROOT,
        env: clean,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      child = started;
      const keep = (d: Buffer) => (output = (output + String(d)).slice(-4000));
      started.stdout!.on('data', keep);
      started.stderr!.on('data', keep);
      started.once('exit', (code, signal) => {
        if (!killing) self.unexpectedExits.push(`${name} exited (${code ?? signal}): ${output.slice(-600)}`);
      });
      // Up when its banner is out (an API) or it said it runs (a worker); bounded.
      const until = Date.now() + 90_000;
      while (!/service on http|"msg":"started"/.test(output)) {
        if (started.exitCode !== null) throw new Error(`${name} did not start: ${output}`);
        if (Date.now() > until) throw new Error(`${name} did not start within 90 s: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      killing = true;
      const exited = new Promise((r) => running.once('exit', r));
      process.kill(-running.pid!, 'SIGKILL');
      await exited;
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      killing = true;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.exitCode === null && process.kill(-running.pid!, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return self;
}
