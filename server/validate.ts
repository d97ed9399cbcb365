import type { Context } from 'hono';
import type { z } from 'zod';
import { type FieldError, problem, validationProblem } from './problem.ts';

export type Parsed<T> = { ok: true; data: T } | { ok: false; response: Response };

export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  const at = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter((p) => p !== '').join('.') || '(root)';
  return error.issues.flatMap((i) =>
    // An unknown field is reported at its own path, so a client sees which key to remove.
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ path: at([...i.path, key]), message: 'unknown field' }))
      : [{ path: at(i.path), message: i.message }],
  );
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:\s*;|$)/i;

/** Content type, JSON syntax and schema, in that order; each failure is its own 4xx. */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<Parsed<z.infer<S>>> {
  const raw = await readJson(c);
  return raw.ok ? parseValue(c, schema, raw.data, '') : raw;
}

export async function readJson(c: Context): Promise<Parsed<unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (!JSON_TYPE.test(type)) {
    return {
      ok: false,
      response: problem(c, {
        status: 415,
        title: 'Unsupported media type',
        detail: `Send the body as application/json${type ? `, not ${type}` : ''}.`,
      }),
    };
  }
  try {
    return { ok: true, data: JSON.parse(await c.req.text()) as unknown };
  } catch (error) {
    return {
      ok: false,
      response: validationProblem(c, [{ path: '(root)', message: (error as Error).message }], 'The body is not valid JSON.'),
    };
  }
}

/** The query string, by its schema; errors are reported under `query.`. */
export const parseQuery = <S extends z.ZodType>(c: Context, schema: S): Parsed<z.infer<S>> => parseValue(c, schema, c.req.query(), 'query');

export function parseValue<S extends z.ZodType>(c: Context, schema: S, value: unknown, prefix: string): Parsed<z.infer<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, response: validationProblem(c, fieldErrors(result.error, prefix)) };
}
