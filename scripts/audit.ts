import { parseArgs } from 'node:util';
import { type AuditReport, auditBatch, auditEveryBatch } from '../app/audit.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { openDatabase } from '../db/client.ts';

/**
 * `npm run audit -- --batch <id>` or `npm run audit -- --all`: replays batches' histories through
 * the machines and checks that they reproduce what is stored (app/audit.ts). Reads DATABASE_URL,
 * or the embedded database in DATA_DIR, as the service does; an embedded database in use by a
 * running service is locked, so ask that service instead (GET /v1/operations/batches/{id}/audit).
 * Prints one JSON report per line. Exits 0 when every batch audited is reproduced, 1 when one
 * diverged, 3 when none diverged but one could not be replayed (history from before machine
 * inputs were kept), 2 for a usage error or a batch that does not exist.
 */

const USAGE = 'usage: npm run audit -- --batch <batch id> | --all [--quiet]   (--quiet: print only the batches not reproduced)';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { batch: { type: 'string' }, all: { type: 'boolean' }, quiet: { type: 'boolean' } } });
  if ((values.batch === undefined) === (values.all !== true)) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.preparedStatements,
    lockLabel: 'npm run audit',
  });
  try {
    if (values.batch !== undefined) {
      const report = await auditBatch(database.db, values.batch);
      if (!report) {
        console.error(`no batch ${values.batch}`);
        return 2;
      }
      console.log(JSON.stringify(report));
      return exitCode([report]);
    }
    const counts = { reproduced: 0, diverged: 0, unverifiable: 0 };
    const notReproduced: AuditReport[] = [];
    for await (const report of auditEveryBatch(database.db)) {
      counts[report.result]++;
      if (!report.ok) notReproduced.push(report);
      if (!report.ok || !values.quiet) console.log(JSON.stringify(report));
    }
    console.error(`audited ${counts.reproduced + counts.diverged + counts.unverifiable} batches: ${JSON.stringify(counts)}`);
    return exitCode(notReproduced);
  } finally {
    await database.close();
  }
}

function exitCode(reports: AuditReport[]): number {
  if (reports.some((r) => r.result === 'diverged')) return 1;
  if (reports.some((r) => r.result === 'unverifiable')) return 3;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const sentence = error instanceof ConfigError || error instanceof DataDirLockedError;
    console.error(sentence ? (error as Error).message : `audit failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(2);
  },
);
