import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * PGlite is single-process: two processes on one data directory diverge and lose writes. The first
 * process holds DATA_DIR/huleedu.lock (its pid); a second one refuses to start. A lock whose
 * process is gone (killed, crashed) is taken over, so it never blocks the next start.
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
