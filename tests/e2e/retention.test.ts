import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase, rows } from '../../db/client.ts';
import { databaseForSuite } from '../support/db.ts';
import { REDIS_URL } from '../support/env.ts';
import { eventually } from '../support/poll.ts';
import { startService } from '../support/process.ts';
import { dropRedisKeys } from '../support/redis-keys.ts';

/** The real process with RETENTION_DAYS: its worker schedules the retention job (BullMQ), which purges and logs the report. */
describe('retention in the service process', () => {
  const db = databaseForSuite('retention_process');

  it('purges a finished batch older than RETENTION_DAYS on its own schedule, logs what it purged, and stops cleanly', async () => {
    const prefix = `test-retention-e2e-${randomBytes(4).toString('hex')}`;
    const svc = await startService({
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'svc-retention-')),
      RETENTION_DAYS: '30',
      RETENTION_INTERVAL_MS: '1000',
      LOG_LEVEL: 'info',
    });
    const database = await openDatabase({ url: db.url, dataDir: 'memory://' });
    try {
      const teacher = { authorization: `Bearer ${svc.teacherToken}`, 'content-type': 'application/json' };
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(new URL(path, svc.base), { method, headers: teacher, ...(body ? { body: JSON.stringify(body) } : {}) });
        return { status: res.status, body: (await res.json()) as any };
      };
      const registered = await call('POST', '/v1/batches', { course_code: 'ENG5', expected_essay_count: 1 });
      const batchId = registered.body.batch_id as string;
      const reason = `uploaded for the wrong pupil ${randomBytes(3).toString('hex')}`;
      expect((await call('POST', `/v1/batches/${batchId}/cancel`, { reason })).status).toBe(200);
      await rows(database.db, sql`UPDATE batches SET updated_at = now() - interval '31 days' WHERE batch_id = ${batchId}`);

      const purged = await eventually(async () => {
        const history = (await call('GET', `/v1/batches/${batchId}/history`)).body.history as any[];
        return history.find((h) => h.event_type === 'RETENTION_PURGED');
      });
      expect(purged).toMatchObject({ outcome: 'purged', actor: 'retention', to_state: 'cancelled' });
      const cancel = ((await call('GET', `/v1/batches/${batchId}/history`)).body.history as any[]).find(
        (h) => h.to_state === 'cancelled' && h.outcome === 'applied',
      );
      expect(cancel.detail.reason).toBe('[redacted]');
      await eventually(async () => svc.output().includes('"msg":"retention purged personal data"') && svc.output().includes(batchId));
      expect(svc.output()).not.toContain(reason);

      svc.child.kill('SIGTERM');
      expect(await svc.exited).toBe(0);
    } finally {
      svc.child.kill('SIGKILL');
      await database.close();
      await dropRedisKeys(REDIS_URL, prefix);
    }
  }, 120_000);
});
