import { serve } from '@hono/node-server';
import { ConfigError, loadConfig } from './app/config.ts';
import { resolveSecrets, teacherToken } from './app/secrets.ts';
import { createService } from './app/service.ts';
import { openDatabase } from './db/client.ts';
import { createHttpApp } from './server/app.ts';

async function main() {
  const config = loadConfig();
  const secrets = resolveSecrets(config);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const service = createService({ db: database.db, validationTimeoutMs: config.validationTimeoutMs });
  let draining = false;
  const log = (message: string, fields: Record<string, unknown>) =>
    console.error(JSON.stringify({ level: 'error', time: new Date().toISOString(), msg: message, ...fields }));

  const app = createHttpApp(service, { auth: secrets, draining: () => draining, log });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: '0.0.0.0' }, async (info) => {
    const base = `http://localhost:${info.port}`;
    console.log(`huleedu phase-1 state service listening on ${base}`);
    console.log(`  database: ${database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL (DATABASE_URL)'}`);
    console.log(`  health:   ${base}/healthz   readiness: ${base}/readyz`);
    if (secrets.development) {
      console.log('  development credentials (set JWT_SECRET and SERVICE_TOKEN to replace them):');
      console.log(`    service token:       ${secrets.serviceToken}`);
      console.log(`    teacher "teacher-a": ${await teacherToken(secrets.jwtSecret, 'teacher-a')}`);
      console.log(`    teacher "teacher-b": ${await teacherToken(secrets.jwtSecret, 'teacher-b')}`);
      console.log('    more teachers:       npm run token -- <teacher-id>');
    }
  });

  const shutdown = (signal: string) => {
    if (draining) return;
    draining = true;
    console.log(`${signal}: draining; in-flight requests finish, then pools close`);
    server.close(async () => {
      await database.close();
      console.log('stopped');
      process.exit(0);
    });
    (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
