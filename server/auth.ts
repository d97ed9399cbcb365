import { timingSafeEqual } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { sign, verify } from 'hono/jwt';
import { unstorableText } from '../machines/storable.ts';
import { problem, validationProblem } from './problem.ts';

export type Caller = { kind: 'service' } | { kind: 'teacher'; id: string };

export interface AuthConfig {
  serviceToken: string;
  jwtSecret: string;
  /** Teacher JWTs living longer than this (from `iat`, or from now) are refused. Default 30 days. */
  maxTokenLifetimeSeconds?: number;
}

export const DEFAULT_MAX_TOKEN_LIFETIME_S = 30 * 24 * 3600;

export type AuthEnv = { Variables: { caller: Caller; correlationId: string } };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A teacher's HS256 JWT, as `authenticate` verifies it: `sub` the teacher id, expiring after `ttlSeconds`. */
export function teacherToken(jwtSecret: string, sub: string, ttlSeconds = 30 * 24 * 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub, iat: now, exp: now + ttlSeconds }, jwtSecret, 'HS256');
}

/** A 401 with the challenge RFC 6750 asks for, so a client can tell it must send a bearer token. */
function unauthorized(c: Context, detail: string): Response {
  c.header('WWW-Authenticate', 'Bearer');
  return problem(c, { status: 401, title: 'Unauthorized', detail });
}

/** Service token or HS256 teacher JWT; anything else is 401. */
export function authenticate(config: AuthConfig): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      return unauthorized(c, 'Send Authorization: Bearer <service token or teacher JWT>.');
    }
    const token = match[1]!;
    if (sameSecret(token, config.serviceToken)) {
      c.set('caller', { kind: 'service' });
      return next();
    }
    let sub: string;
    try {
      const claims = await verify(token, config.jwtSecret, 'HS256');
      if (typeof claims.sub !== 'string' || claims.sub.trim() === '') throw new Error('no sub');
      sub = claims.sub;
      // Without exp a token never expires; a far exp is nearly as bad.
      const now = Math.floor(Date.now() / 1000);
      const maxLifetime = config.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_S;
      if (typeof claims.exp !== 'number') {
        return unauthorized(c, 'The token has no exp claim; teacher tokens must expire.');
      }
      const issued = typeof claims.iat === 'number' ? Math.min(claims.iat, now) : now;
      if (claims.exp - issued > maxLifetime || claims.exp - now > maxLifetime) {
        return unauthorized(c, `The token lives longer than the allowed ${maxLifetime} seconds.`);
      }
    } catch {
      return unauthorized(c, 'The token is invalid or expired.');
    }
    // The teacher id is stored as text: a NUL or a lone surrogate would fail the query.
    const unstorable = unstorableText(sub);
    if (unstorable)
      return validationProblem(
        c,
        [{ path: 'authorization.sub', message: unstorable }],
        'The token names a teacher id that cannot be stored.',
      );
    if (sub.length > 200)
      return validationProblem(
        c,
        [{ path: 'authorization.sub', message: 'at most 200 characters' }],
        'The token names a teacher id that is too long.',
      );
    c.set('caller', { kind: 'teacher', id: sub });
    return next();
  };
}

export function requireCaller(kind: Caller['kind']): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    if (c.get('caller').kind !== kind) {
      return problem(c, {
        status: 403,
        title: 'Forbidden',
        detail: `This route is for ${kind === 'service' ? 'services' : 'teachers'} only.`,
      });
    }
    return next();
  };
}

export function teacherId(c: { get(key: 'caller'): Caller }): string {
  const caller = c.get('caller');
  if (caller.kind !== 'teacher') throw new Error('teacher route reached without a teacher');
  return caller.id;
}

/** `path` and every route below it answer teachers only. */
export function teachersOnly(app: Hono<AuthEnv>, path: string): void {
  app.use(path, requireCaller('teacher'));
  app.use(`${path}/*`, requireCaller('teacher'));
}
