/**
 * Child of tests/integration/postgres-patches.test.ts: opens postgres.js connections whose session
 * cancels every statement after 1 ms, so the driver's own first statement on a new connection (the
 * array types it fetches) fails, then exits 1 if that failure escaped as an unhandled rejection
 * (porsager/postgres#1192, #1205), which would kill a service; 0 otherwise. Prints what escaped.
 */
import postgres from 'postgres';

const unhandled: string[] = [];
process.on('unhandledRejection', (error) => unhandled.push(String((error as { code?: string })?.code ?? error)));

const url = process.argv[2]!;
for (let i = 0; i < 3; i++) {
  const sql = postgres(url, { max: 1, connection: { statement_timeout: 1 }, onnotice: () => {} });
  await sql`SELECT 1`.catch(() => undefined);
  await sql.end({ timeout: 1 });
}
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(JSON.stringify({ unhandled }));
process.exit(unhandled.length === 0 ? 0 : 1);
