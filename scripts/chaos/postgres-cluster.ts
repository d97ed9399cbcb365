import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster of its own, in a temporary directory on its own loopback port, for faults
 * that must never reach the machine's main cluster (restart, stop, pg_terminate_backend).
 * PostgreSQL refuses to run as root, so as root every command runs as the `postgres` user.
 */

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

const asPostgres = (command: string, args: string[]): [string, string[]] =>
  asRoot ? ['runuser', ['-u', 'postgres', '--', join(BIN, command), ...args]] : [join(BIN, command), args];

/** Async, so a process serving load keeps serving while the cluster restarts under it. */
async function run(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const [file, argv] = asPostgres(command, args);
  const { stdout } = await promisify(execFile)(file, argv, { encoding: 'utf8', timeout: timeoutMs });
  return stdout;
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PostgresCluster {
  port: number;
  dir: string;
  /** postgres://postgres@127.0.0.1:port/postgres */
  url: string;
  start(): Promise<void>;
  /** pg_ctl stop -m fast: backends are terminated, the postmaster exits. */
  stop(): Promise<void>;
  /** Fast shutdown and start again, as a minor-version upgrade does. */
  restart(): Promise<void>;
  /** Runs one statement with psql and answers its output (unaligned, tuples only). */
  psql(statement: string, database?: string): Promise<string>;
  /** pg_terminate_backend on every client connection but this one; answers how many. */
  terminateBackends(): Promise<number>;
  running(): boolean;
  /** Stops it (if running) and removes its directory. */
  remove(): Promise<void>;
}

export async function createPostgresCluster(port?: number): Promise<PostgresCluster> {
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'huleedu-chaos-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`;
  const cluster: PostgresCluster = {
    port,
    dir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: async () => void (await run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start'])),
    stop: async () => void (await run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'])),
    restart: async () =>
      void (await run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-m', 'fast', '-w', '-t', '60', 'restart'])),
    psql: async (statement, database = 'postgres') =>
      (await run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-XAtq', '-c', statement])).trim(),
    terminateBackends: async () =>
      Number(
        await cluster.psql(
          "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        ),
      ),
    running: () => existsSync(join(data, 'postmaster.pid')),
    remove: async () => {
      try {
        if (cluster.running()) await cluster.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  await cluster.start();
  return cluster;
}
