import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { createHttpApp } from '../../server/app.ts';
import { isLoopbackAddress } from '../../server/routes/review.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * Issue 23, operations: development tokens sign anyone in, so /review/config.json hands them only
 * to a browser on this machine, and development mode listens on loopback unless HOST says otherwise.
 */

/** This machine's own non-loopback IPv4 address: a request to it arrives from a non-loopback peer. */
function outsideAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
  if (!found) throw new Error('this test needs a non-loopback IPv4 interface');
  return found.address;
}

describe('development tokens only to loopback', () => {
  let harness: Harness;
  let server: ServerType;
  let port: number;

  beforeAll(async () => {
    harness = await startHarness({ label: 'review_config' });
    const app = createHttpApp(harness.service, {
      auth: { serviceToken: harness.serviceToken, jwtSecret: harness.jwtSecret },
      review: { stuckAfterMs: 1000, developmentTeachers: async () => [{ teacher_id: 'teacher-a', token: 'development-token' }] },
    });
    server = serve({ fetch: app.fetch, port: 0, hostname: '0.0.0.0' });
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await harness?.close();
  });

  const teachersFrom = async (host: string, headers: Record<string, string> = {}) =>
    ((await (await fetch(`http://${host}:${port}/review/config.json`, { headers })).json()) as { development_teachers: unknown[] })
      .development_teachers;

  it('gives them to 127.0.0.1, not to a request from another address, nor to one a proxy forwarded', async () => {
    expect(await teachersFrom('127.0.0.1')).toEqual([{ teacher_id: 'teacher-a', token: 'development-token' }]);
    expect(await teachersFrom(outsideAddress())).toEqual([]);
    expect(await teachersFrom('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).toEqual([]);
    expect(await teachersFrom('127.0.0.1', { forwarded: 'for=203.0.113.9' })).toEqual([]);
  });

  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['192.0.2.2', '::ffff:192.0.2.2', 'fd00::2', '0.0.0.0', '', undefined])
      expect(isLoopbackAddress(a), String(a)).toBe(false);
  });
});

describe('HOST', () => {
  it('is 127.0.0.1 in development unless set, every interface otherwise', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), SERVICE_TOKEN: 'y'.repeat(16) };
    expect(loadConfig(production).host).toBe('0.0.0.0');
    expect(loadConfig({ ...production, HOST: '10.0.0.5' }).host).toBe('10.0.0.5');
    expect(() => loadConfig({ HOST: 'a b' })).toThrow(/HOST/);
  });
});
