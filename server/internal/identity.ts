import type { Context, MiddlewareHandler } from 'hono';
import type { Caller } from '../auth.ts';
import { problem } from '../problem.ts';

/**
 * Who calls the internal listener. The real HuleEdu services call the orchestrator's and the class
 * service's internal doors with no credential at all (the network is the boundary); the API gateway
 * has already checked the teacher's JWT and forwards who it is as `X-User-ID` and `X-Org-ID`
 * (`X-Identity-Encoding: url` when the values were percent-encoded). These headers are trusted here
 * and nowhere else: the public listener keeps its bearer tokens.
 */
export type InternalEnv = { Variables: { correlationId: string; userId: string | null; orgId: string | null; caller: Caller } };

function decoded(c: Context, name: string): string | null {
  const raw = c.req.header(name);
  if (raw === undefined || raw.trim() === '') return null;
  if (c.req.header('x-identity-encoding')?.toLowerCase() !== 'url') return raw.trim();
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    return raw.trim();
  }
}

export const gatewayIdentity: MiddlewareHandler<InternalEnv> = async (c, next) => {
  c.set('userId', decoded(c, 'x-user-id'));
  c.set('orgId', decoded(c, 'x-org-id'));
  await next();
};

/**
 * The teacher routes behind the gateway: the teacher is who `X-User-ID` names, and the public
 * routes' handlers run unchanged with that caller. Without the header, 401.
 */
export const gatewayTeacher: MiddlewareHandler<InternalEnv> = async (c, next) => {
  const user = c.get('userId');
  if (user === null)
    return problem(c, { status: 401, title: 'Unauthorized', detail: 'Send X-User-ID: the API gateway names the authenticated teacher.' });
  c.set('caller', { kind: 'teacher', id: user });
  return next();
};

/**
 * The real callers read answers with aiohttp's `resp.json()`, which refuses any content type but
 * `application/json`; a problem answer goes out as that, its RFC 9457 members unchanged.
 */
export const plainJsonProblems: MiddlewareHandler<InternalEnv> = async (c, next) => {
  await next();
  if (c.res.headers.get('content-type')?.startsWith('application/problem+json')) c.res.headers.set('content-type', 'application/json');
};
