import { z } from 'zod';

/**
 * What PostgreSQL can store. It refuses U+0000 in text and jsonb, a lone UTF-16 surrogate in
 * jsonb (JSON.stringify writes it as a bare `\ud800` escape), years outside 1..9999 in our ISO
 * times and UTC offsets beyond ±15:59. The schemas check these, so such input is a 400 naming the
 * field instead of a failed query.
 */

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why PostgreSQL would refuse this string, or null when it stores it. */
export function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain a lone UTF-16 surrogate';
  return null;
}

/** Every string and object key in a JSON value that PostgreSQL would refuse, by path. */
export function unstorablePaths(
  value: unknown,
  path: Array<string | number> = [],
  found: Array<{ path: Array<string | number>; message: string }> = [],
) {
  if (found.length >= 20) return found;
  if (typeof value === 'string') {
    const why = unstorableText(value);
    if (why) found.push({ path, message: why });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => unstorablePaths(item, [...path, i], found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const why = unstorableText(key);
      if (why) found.push({ path: [...path, key], message: `key ${why}` });
      unstorablePaths(item, [...path, key], found);
    }
  }
  return found;
}

/** The schema, refusing any string or key inside the parsed value that PostgreSQL cannot store. */
export function storable<S extends z.ZodType>(schema: S): S {
  return schema.superRefine((value, ctx) => {
    for (const issue of unstorablePaths(value)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }) as S;
}

const OFFSET = /(?:Z|([+-])(\d{2}):?(\d{2}))$/i;

/** An ISO 8601 date-time with offset that PostgreSQL's timestamptz takes. */
export const pgTimestamp = z.iso.datetime({ offset: true }).superRefine((text, ctx) => {
  const year = Number(text.slice(0, 4));
  const offset = OFFSET.exec(text);
  if (year < 1 || Number.isNaN(Date.parse(text)))
    ctx.addIssue({ code: 'custom', message: 'must be a real date-time from year 0001 to 9999' });
  else if (offset?.[2] !== undefined && (Number(offset[2]) > 15 || Number(offset[3]) > 59)) {
    ctx.addIssue({ code: 'custom', message: 'the UTC offset must be within ±15:59' });
  }
});
