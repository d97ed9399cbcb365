import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { resolveSecrets } from '../../secrets.ts';

/** Issue 10 item 6: secrets given by the environment are never written, and stored ones survive. */
describe('development secrets in DATA_DIR', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'huleedu-secrets-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  const stored = (dir: string) => readFileSync(join(dir, 'dev-secrets.json'), 'utf8');

  it('setting only JWT_SECRET keeps the stored secrets and writes the given one nowhere', () => {
    const dir = dataDir();
    const first = resolveSecrets(loadConfig({ DATA_DIR: dir }));
    const fileBefore = stored(dir);
    const given = 'p'.repeat(40);
    const withEnv = resolveSecrets(loadConfig({ DATA_DIR: dir, JWT_SECRET: given }));
    expect(withEnv.jwtSecret).toBe(given);
    expect(withEnv.serviceToken).toBe(first.serviceToken);
    expect(stored(dir)).toBe(fileBefore);
    expect(stored(dir)).not.toContain(given);
    // Back to development: the earlier teacher tokens are valid again.
    expect(resolveSecrets(loadConfig({ DATA_DIR: dir })).jwtSecret).toBe(first.jwtSecret);
  });

  it('on a fresh DATA_DIR with only SERVICE_TOKEN set, only the generated JWT secret is stored', () => {
    const dir = dataDir();
    const given = 's'.repeat(24);
    const secrets = resolveSecrets(loadConfig({ DATA_DIR: dir, SERVICE_TOKEN: given }));
    expect(secrets.serviceToken).toBe(given);
    const file = JSON.parse(stored(dir)) as Record<string, unknown>;
    expect(file.jwtSecret).toBe(secrets.jwtSecret);
    expect(JSON.stringify(file)).not.toContain(given);
  });
});
