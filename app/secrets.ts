import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from 'hono/jwt';
import type { Config } from './config.ts';

export interface Secrets {
  jwtSecret: string;
  serviceToken: string;
  /** True when development values were generated (or reused from DATA_DIR). */
  development: boolean;
}

/**
 * JWT_SECRET and SERVICE_TOKEN from the environment; outside production, missing ones are
 * generated once and kept in DATA_DIR/dev-secrets.json so tokens survive a restart.
 */
export function resolveSecrets(config: Config): Secrets {
  if (config.jwtSecret && config.serviceToken) {
    return { jwtSecret: config.jwtSecret, serviceToken: config.serviceToken, development: false };
  }
  const file = join(config.dataDir, 'dev-secrets.json');
  let stored: Partial<Secrets> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>;
  } catch {
    stored = {};
  }
  const secrets = {
    jwtSecret: config.jwtSecret ?? stored.jwtSecret ?? randomBytes(32).toString('base64url'),
    serviceToken: config.serviceToken ?? stored.serviceToken ?? `svc_${randomBytes(24).toString('base64url')}`,
  };
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { ...secrets, development: true };
}

export function teacherToken(jwtSecret: string, sub: string, ttlSeconds = 30 * 24 * 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub, iat: now, exp: now + ttlSeconds }, jwtSecret, 'HS256');
}
