import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';

export interface Secrets {
  jwtSecret: string;
  serviceToken: string;
  /** True when development values were generated (or reused from DATA_DIR). */
  development: boolean;
}

/**
 * JWT_SECRET and SERVICE_TOKEN from the environment; outside production, missing ones are
 * generated once and kept in DATA_DIR/dev-secrets.json so tokens survive a restart. A secret given
 * by the environment is used as it is and never written anywhere; the stored development values
 * stay as they were, so setting one variable for a while does not invalidate earlier tokens.
 */
export function resolveSecrets(config: Config): Secrets {
  if (config.jwtSecret && config.serviceToken) {
    return { jwtSecret: config.jwtSecret, serviceToken: config.serviceToken, development: false };
  }
  const file = join(config.dataDir, 'dev-secrets.json');
  let stored: Partial<Pick<Secrets, 'jwtSecret' | 'serviceToken'>> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
  } catch {
    stored = {};
  }
  const kept = {
    jwtSecret: stored.jwtSecret ?? (config.jwtSecret ? undefined : randomBytes(32).toString('base64url')),
    serviceToken: stored.serviceToken ?? (config.serviceToken ? undefined : `svc_${randomBytes(24).toString('base64url')}`),
  };
  if (kept.jwtSecret !== stored.jwtSecret || kept.serviceToken !== stored.serviceToken) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(kept, null, 2), { mode: 0o600 });
  }
  return { jwtSecret: config.jwtSecret ?? kept.jwtSecret!, serviceToken: config.serviceToken ?? kept.serviceToken!, development: true };
}
