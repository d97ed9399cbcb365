import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from './poll.ts';

export const ROOT = join(import.meta.dirname, '../..');

/** `npm start` as a developer runs it: the embedded database, no Redis, generated development secrets. */
export const EMBEDDED_DEVELOPMENT = {
  DATABASE_URL: undefined,
  REDIS_URL: undefined,
  JWT_SECRET: undefined,
  SERVICE_TOKEN: undefined,
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
};

export interface RunningService {
  child: ChildProcess;
  base: string;
  serviceToken: string;
  teacherToken: string;
  exited: Promise<number | null>;
  output(): string;
}

/**
 * Starts the real entry point (`npm start`'s `main.ts`) on a free port and reads its banner.
 * `via: 'npm'` runs `npm start` itself, so the child is npm and a signal goes to npm's pid.
 */
export async function startService(env: Record<string, string | undefined>, via: 'node' | 'npm' = 'node'): Promise<RunningService> {
  const clean = Object.fromEntries(
    Object.entries({ ...process.env, PORT: '0', INTERNAL_PORT: '0', ...env }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const child =
    via === 'npm'
      ? spawn('npm', ['start', '--silent'], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, ['--import', 'tsx', 'main.ts'], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`service exited: ${output}`);
      return /service on (http:\/\/localhost:\d+)/.exec(output)?.[1];
    },
    60_000,
    50,
  );
  const token = (label: RegExp) => eventually(async () => label.exec(output)?.[1], 10_000, 20);
  return {
    child,
    base,
    serviceToken: await token(/service token\s+(\S+)/),
    teacherToken: await token(/teacher "teacher-a"\s+(\S+)/),
    exited,
    output: () => output,
  };
}
