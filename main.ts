import { ConfigError, loadConfig } from './app/config.ts';
import { resolveSecrets } from './app/secrets.ts';
import { jsonLogger, startRuntime } from './runtime.ts';

async function main() {
  const config = loadConfig();
  const runtime = await startRuntime(config, resolveSecrets(config));
  await runtime.banner();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    jsonLogger('info', 'draining', { signal });
    setTimeout(() => {
      jsonLogger('error', 'graceful stop took too long; exiting');
      process.exit(1);
    }, 20_000).unref();
    runtime.stop().then(
      () => {
        jsonLogger('info', 'stopped', { signal });
        process.exit(0);
      },
      (error: unknown) => {
        jsonLogger('error', 'stop failed', { err: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
