import { createConnection } from 'node:net';
import postgres from 'postgres';
import { DATABASE_URL, REDIS_URL } from './env.ts';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 2000 });
    socket.once('connect', () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** Fails the run with one clear sentence when PostgreSQL or Redis is not there. */
export default async function checkServices() {
  const problems: string[] = [];
  const sql = postgres(DATABASE_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
  } catch (error) {
    problems.push(`PostgreSQL is not reachable at ${DATABASE_URL} (${(error as Error).message}).`);
  } finally {
    await sql.end({ timeout: 1 });
  }
  const redis = new URL(REDIS_URL);
  if (!(await reachable(redis.hostname, Number(redis.port || 6379)))) {
    problems.push(`Redis is not reachable at ${REDIS_URL}.`);
  }
  if (problems.length > 0) {
    // One clear sentence and a non-zero exit; a stack trace would only bury it.
    console.error(
      `\nnpm test: ${problems.join(' ')}\nThe tests need both. Set DATABASE_URL / REDIS_URL, or start the services (README, "Tests"; .ci/run does it).\n`,
    );
    process.exit(1);
  }
}
