import { ConfigError, loadConfig } from './config.ts';
import { resolveSecrets } from './secrets.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { createLogger, logFunction } from './ops/logger.ts';
import { startRuntime } from './runtime.ts';

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const log = logFunction(logger);
  const runtime = await startRuntime(config, resolveSecrets(config), logger);
  await runtime.banner();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'draining', { signal });
    setTimeout(() => {
      log('error', 'graceful stop took too long; exiting');
      process.exit(1);
    }, 20_000).unref();
    runtime.stop().then(
      () => {
        log('info', 'stopped', { signal });
        process.exit(0);
      },
      (error: unknown) => {
        log('error', 'stop failed', { err: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const sentence = error instanceof ConfigError || error instanceof DataDirLockedError;
  console.error(sentence ? (error as Error).message : `failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
