import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { idempotencyScope, requestFingerprint } from '../app/idempotency.ts';
import type { KeyedCall, KeyedOutcome } from '../app/keyed.ts';
import { type AuthEnv, teacherId } from './auth.ts';
import { sendOutcome } from './outcome.ts';
import { validationProblem } from './problem.ts';
import { IdempotencyKey } from './schemas.ts';
import type { Parsed } from './validate.ts';

/** The Idempotency-Key header of a teacher's create request (a class, students), as OpenAPI shows it. */
export const CreateIdempotencyHeaders = z.object({
  'idempotency-key': IdempotencyKey.optional().openapi({
    description:
      'Sending the same key again with the same request (same teacher, route and body) answers the first answer again and creates nothing; the key with a different request answers 422. A retry after a 503 or a lost answer is safe with it.',
    example: 'create-class-2026-03-02-1',
  }),
});

/**
 * The request's Idempotency-Key scoped to teacher, command and `scopeId` (the class), with the
 * fingerprint of what it asks; undefined without the header, a 400 for a malformed one.
 */
export function keyedCall(c: Context<AuthEnv>, command: string, scopeId: string, body: unknown): Parsed<KeyedCall | undefined> {
  const header = c.req.header('idempotency-key');
  if (header === undefined) return { ok: true, data: undefined };
  const key = IdempotencyKey.safeParse(header);
  if (!key.success) {
    return { ok: false, response: validationProblem(c, [{ path: 'headers.idempotency-key', message: key.error.issues[0]!.message }]) };
  }
  return {
    ok: true,
    data: {
      key: idempotencyScope(command, teacherId(c), scopeId, key.data),
      fingerprint: requestFingerprint(c.req.method, c.req.routePath, scopeId, body),
    },
  };
}

/** 422 for a key reused with another request, or the result to answer (the first one again on a retry). */
export function keyedResult<T>(c: Context, outcome: KeyedOutcome<T>): { ok: true; result: T } | { ok: false; response: Response } {
  if (outcome.kind === 'key_reused') return { ok: false, response: sendOutcome(c, outcome, '') };
  return { ok: true, result: outcome.result };
}
