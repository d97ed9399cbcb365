import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { verify } from 'hono/jwt';
import { problem } from './problem.ts';

export type Caller = { kind: 'service' } | { kind: 'teacher'; id: string };

export interface AuthConfig {
  serviceToken: string;
  jwtSecret: string;
}

export type AuthEnv = { Variables: { caller: Caller; correlationId: string } };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Service token or HS256 teacher JWT; anything else is 401. */
export function authenticate(config: AuthConfig): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      return problem(c, { status: 401, title: 'Unauthorized', detail: 'Send Authorization: Bearer <service token or teacher JWT>.' });
    }
    const token = match[1]!;
    if (sameSecret(token, config.serviceToken)) {
      c.set('caller', { kind: 'service' });
      return next();
    }
    try {
      const claims = await verify(token, config.jwtSecret, 'HS256');
      if (typeof claims.sub !== 'string' || claims.sub.trim() === '') throw new Error('no sub');
      c.set('caller', { kind: 'teacher', id: claims.sub });
    } catch {
      return problem(c, { status: 401, title: 'Unauthorized', detail: 'The token is invalid or expired.' });
    }
    return next();
  };
}

export function requireCaller(kind: Caller['kind']): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    if (c.get('caller').kind !== kind) {
      return problem(c, { status: 403, title: 'Forbidden', detail: `This route is for ${kind === 'service' ? 'services' : 'teachers'} only.` });
    }
    return next();
  };
}

export function teacherId(c: { get(key: 'caller'): Caller }): string {
  const caller = c.get('caller');
  if (caller.kind !== 'teacher') throw new Error('teacher route reached without a teacher');
  return caller.id;
}
