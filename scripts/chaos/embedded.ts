import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Integrity, type Query, settledIntegrity } from './checks.ts';
import { type Load, createChaosClass, startLoad } from './load.ts';
import { freePort } from './postgres-cluster.ts';
import { type ServiceProcess, serviceProcess } from './processes.ts';
import type { ScorecardRow } from './scorecard.ts';

/**
 * The embedded database's faults: `npm start` with no DATABASE_URL and no Redis, killed -9 with its
 * process group and started again at once; and its DATA_DIR on a small tmpfs that runs full, then
 * has space again. What it kept is read afterwards by opening DATA_DIR in this process.
 */

interface Fault {
  name: string;
  label: string;
  inject(): Promise<number | void>;
}

export interface EmbeddedOptions {
  runs: number;
  wanted: (name: string) => boolean;
  jwtSecret: string;
  serviceToken: string;
  teacher: { sub: string; token: string };
  validationTimeoutMs: number;
  log: (line: string) => void;
  runFault: (
    fault: Fault,
    load: Load,
    apis: ServiceProcess[],
    every: ServiceProcess[],
    integrity: () => Promise<Integrity>,
  ) => Promise<ScorecardRow>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fills the file system under `dir` until it has no space left; answers a function that frees it again. */
function fillDisk(dir: string): () => void {
  const path = join(dir, 'chaos-filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (let i = 0; i < 100_000; i++) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  // The last megabyte does not fit: fill what is left of it too.
  const small = Buffer.alloc(4096);
  try {
    for (let i = 0; i < 1000; i++) writeSync(fd, small);
  } catch {}
  closeSync(fd);
  return () => unlinkSync(path);
}

async function embeddedQuery(dataDir: string): Promise<{ query: Query; close(): Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const client = await PGlite.create(dataDir);
  return {
    query: async (text, params) => (await client.query<Record<string, number>>(text, params)).rows,
    close: () => client.close(),
  };
}

export async function embeddedFaults(options: EmbeddedOptions): Promise<ScorecardRow[]> {
  const rows: ScorecardRow[] = [];
  const scenarios: Array<{ name: string; label: string; tmpfs: boolean }> = [
    { name: 'embedded-kill', label: 'embedded: npm start kill -9 (process group), restarted at once', tmpfs: false },
    { name: 'disk-full', label: "embedded: DATA_DIR's disk full, then space again", tmpfs: true },
  ];
  for (const scenario of scenarios.filter((s) => options.wanted(s.name))) {
    const dataDir = mkdtempSync(join(tmpdir(), 'huleedu-chaos-embedded-'));
    if (scenario.tmpfs) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200m', 'tmpfs', dataDir]);
    const service = serviceProcess(
      'embedded',
      {
        NODE_ENV: 'production',
        DATABASE_URL: undefined,
        REDIS_URL: undefined,
        DATA_DIR: join(dataDir, 'data'),
        JWT_SECRET: options.jwtSecret,
        SERVICE_TOKEN: options.serviceToken,
        VALIDATION_TIMEOUT_MS: String(options.validationTimeoutMs),
        ROLE: 'all',
      },
      await freePort(),
    );
    try {
      await service.start();
      const cls = await createChaosClass(service.base!, options.teacher.token, false);
      const load = startLoad({
        apis: [service.base!],
        serviceToken: options.serviceToken,
        teacher: options.teacher,
        cls,
        clients: 4,
        essaysPerBatch: 4,
      });
      const fault: Fault = scenario.tmpfs
        ? {
            name: scenario.name,
            label: scenario.label,
            inject: async () => {
              const free = fillDisk(dataDir);
              await sleep(8000);
              free();
            },
          }
        : {
            name: scenario.name,
            label: scenario.label,
            inject: async () => {
              const killedAt = Date.now();
              await service.kill();
              await service.start();
              return killedAt;
            },
          };
      options.log(`fault: ${fault.label}, ${options.runs} runs`);
      const row = await options.runFault(fault, load, [service], [service], async () => {
        // Let due deadlines fire: the embedded sweep runs every second, and a deadline it claimed but
        // could not fire (the disk was full) waits out its 60 s lease. Then read DATA_DIR here.
        await sleep(options.validationTimeoutMs + 65_000);
        await service.stop();
        const db = await embeddedQuery(join(dataDir, 'data'));
        try {
          const kept = await settledIntegrity(db.query, load.ledger, 10_000, false);
          return { ...kept, unpublished: -1 }; // no relay without Redis: nothing publishes the outbox
        } finally {
          await db.close();
        }
      });
      rows.push(row);
      options.log(JSON.stringify(row));
    } finally {
      await service.stop();
      if (scenario.tmpfs) execFileSync('umount', ['-l', dataDir]);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}
