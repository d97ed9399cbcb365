import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * PGlite is single-process: two processes on one data directory diverge and lose writes. The first
 * process holds DATA_DIR/huleedu.lock (its pid); a second one refuses to start. A lock whose
 * process is gone (killed, crashed), or is a zombie or exiting (killed -9 a moment ago), is taken
 * over, so a supervisor restarting at once never meets a refusal.
 */

export const LOCK_FILE = 'huleedu.lock';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

interface LockOwner {
  pid: number;
  host: string;
  label: string;
  started_at: string;
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A process killed with SIGKILL keeps its pid until its parent reaps it: a zombie (state Z), for
 * ever when that parent was killed too and nothing reaps orphans, or for a moment while it exits.
 * Only a process that still runs holds the lock; on Linux /proc tells which (elsewhere the pid is all there is).
 */
function running(pid: number): boolean {
  if (!exists(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== 'x';
  } catch {
    return exists(pid);
  }
}

/** How long a start waits for a holder that may be exiting right now (killed a moment ago). */
const EXITING_GRACE_MS = 2_000;

/** Whether the holder still runs after a short, bounded wait for it to finish exiting. */
function alive(pid: number): boolean {
  const until = Date.now() + EXITING_GRACE_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (running(pid)) {
    if (Date.now() >= until) return true;
    Atomics.wait(pause, 0, 0, 50); // a synchronous 50 ms pause: the lock is taken once, at start
  }
  return false;
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) ? owner : null;
  } catch {
    return null;
  }
}

/** Takes the lock on `dataDir` for this process, or throws one sentence naming the holder. */
export function lockDataDir(dataDir: string, label: string): { release(): void } {
  const path = join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), label, started_at: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return {
        release() {
          if (readOwner(path)?.pid === process.pid) unlinkSync(path);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(path);
    // A lock being written right now reads as empty; a pid on another host cannot be checked.
    if (owner === null && attempt === 0) continue;
    if (owner !== null && owner.pid !== process.pid && (owner.host !== me.host || alive(owner.pid))) {
      throw new DataDirLockedError(
        `DATA_DIR ${dataDir} is in use by process ${owner.pid} on ${owner.host} (${owner.label}, since ${owner.started_at}); ` +
          'the embedded database allows one process, so stop that one first, or point every process at PostgreSQL with DATABASE_URL to run several.',
      );
    }
    // Stale: its process is gone (or the file is unreadable). Take it over.
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new DataDirLockedError(`DATA_DIR ${dataDir}: could not take ${LOCK_FILE}; another process keeps creating it.`);
}
