import { createHash } from 'node:crypto';

/**
 * Idempotency-Key scopes and request fingerprints. A scope is a hash of its parts encoded as a JSON
 * array, so no two (command, teacher, batch, key) tuples can produce the same scope, whatever
 * characters the teacher id or key contain.
 */
export function idempotencyScope(command: string, teacherId: string, batchId: string, key: string): string {
  return `idem-${sha256(JSON.stringify([command, teacherId, batchId, key]))}`;
}

/** What a request asked for: method, route, batch and the canonical (key-sorted) body. */
export function requestFingerprint(method: string, route: string, batchId: string, body: unknown): string {
  return sha256(JSON.stringify([method.toUpperCase(), route, batchId, canonical(body)]));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
