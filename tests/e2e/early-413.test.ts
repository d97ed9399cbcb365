import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_DEVELOPMENT, type RunningService, startService } from '../support/process.ts';

/**
 * Issue 20: a body over the limit is answered 413 (with Connection: close) before it is read. Closing
 * the socket while the client is still writing resets it, and a pooled client (Node's fetch) then
 * sees EPIPE or ECONNRESET instead of the answer. The server lingers: it reads and drops the rest of
 * the body for a bounded time and size before it closes, so the client reads its 413. It shows only
 * with the server in a process of its own (as `npm start` runs), and not on every try.
 */

const TWO_MIB = Buffer.alloc(2 * 1024 * 1024, 'x');
/** Seen about once in 30 tries before the fix; bounded. */
const TRIES = 150;

describe('an early 413 reaches a client still sending its body', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'huleedu-413-'));
  let service: RunningService;
  beforeAll(async () => {
    service = await startService({ ...EMBEDDED_DEVELOPMENT, DATA_DIR: dataDir });
  }, 90_000);
  afterAll(async () => {
    if (service?.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`answers 413 problem+json to ${TRIES} fetches of a 2 MiB body, never a broken pipe`, async () => {
    const unexpected: string[] = [];
    for (let i = 0; i < TRIES && unexpected.length === 0; i++) {
      try {
        const answer = await fetch(`${service.base}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${service.serviceToken}` },
          body: TWO_MIB,
        });
        const body = (await answer.json()) as { status?: number };
        if (answer.status !== 413 || answer.headers.get('content-type') !== 'application/problem+json' || body.status !== 413) {
          unexpected.push(`try ${i}: ${answer.status} ${JSON.stringify(body)}`);
        }
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        unexpected.push(`try ${i}: ${cause?.code ?? cause?.message ?? String(error)}`);
      }
    }
    expect(unexpected).toEqual([]);
  }, 180_000);
});
