import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import { harnessForSuite } from '../support/harness.ts';

/** RFC 6750: a 401 names the scheme to use (WWW-Authenticate: Bearer); other answers do not challenge. */
describe('the bearer challenge', () => {
  const h = harnessForSuite({ label: 'auth_challenge', pglite: true });

  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string | null>]> = [
    ['no token', async () => null],
    ['a token that is neither the service token nor a JWT', async () => 'not-a-token'],
    ['a JWT signed with another secret', async () => sign({ sub: 't', iat: now(), exp: now() + 60 }, 'another-secret', 'HS256')],
    ['a JWT without exp', async () => sign({ sub: 't', iat: now() }, h.jwtSecret, 'HS256')],
    ['a JWT that lives too long', async () => sign({ sub: 't', iat: now(), exp: now() + 400 * 24 * 3600 }, h.jwtSecret, 'HS256')],
  ];
  it.each(cases)('answers 401 with WWW-Authenticate: Bearer for %s', async (_name, token) => {
    const res = await h.api('GET', '/v1/batches', { token: await token() });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('does not challenge a caller it knows (403, 200)', async () => {
    const forbidden = await h.api('GET', '/v1/batches');
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toBeNull();
    const ok = await h.api('GET', '/v1/batches', { token: await h.teacher('teacher-challenge') });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('www-authenticate')).toBeNull();
  });
});
