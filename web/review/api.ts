import type { ProblemKind, Refusal } from './types.ts';

/** The public API, called with the pasted token; every error answer becomes an ApiError with its detail. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export async function call<T>(
  token: string,
  method: string,
  path: string,
  init: { body?: unknown; idempotencyKey?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.idempotencyKey) headers['idempotency-key'] = init.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  } catch (error) {
    throw new ApiError(0, String(error), null);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : (JSON.parse(text) as unknown);
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = (body as { detail?: string } | null)?.detail ?? response.statusText;
    throw new ApiError(response.status, `${response.status}: ${detail}`, body);
  }
  return body as T;
}

/** The `sub` of a JWT, read without checking it (the server checks it on every call). */
export function subjectOf(token: string): string | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : null;
  } catch {
    return null;
  }
}

const KNOWN: ReadonlySet<number> = new Set([400, 401, 403, 404, 409, 413, 429, 500, 503]);

/** The catalogue's key for a failed call: its status when the page has a sentence for it. */
export function problemKindOf(error: unknown): ProblemKind {
  if (!(error instanceof ApiError)) return 'other';
  if (error.status === 0) return 'network';
  if (KNOWN.has(error.status)) return error.status as ProblemKind;
  return error.status >= 500 ? 500 : 'other';
}

/** Sorts the API's sentence for a refused decision (app/commands.ts decisionResults) into a kind the catalogue words. */
export function refusalOf(reason: string | undefined): Refusal {
  const r = reason ?? '';
  if (r.startsWith('already decided')) return 'already_decided';
  if (/is not in the batch's class/.test(r)) return 'not_in_class';
  if (/no suggested student/.test(r)) return 'no_suggestion';
  if (/not an essay of this batch/.test(r)) return 'unknown_essay';
  return 'not_accepted';
}
