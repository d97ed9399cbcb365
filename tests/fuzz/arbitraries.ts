import fc from 'fast-check';

/** The hostile values the fuzzer draws from (tests/fuzz/hostile-requests.ts). */

const HOSTILE_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\ud83d',
  "'; DROP TABLE batches; --",
  '" OR 1=1 --',
  '$1',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  '__proto__',
  'constructor',
  '\u202e',
  '\uffff',
  '𝕏',
  ' ',
  '',
  'x'.repeat(10_000),
];

export const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000`),
);

export const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, -1e308, 5e-324, 0.5, -0),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

export const leaf = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null), fc.uuid());

/** Any JSON value, with hostile strings and keys (including `__proto__`). */
export const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(
    fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'data', 'event_type', 'batch_id')),
    tie('value'),
    { maxKeys: 5 },
  ),
})).value;

/** A path inside a JSON value, and the value with that spot replaced. */
export function replaceAt(value: unknown, choice: number, replacement: unknown): unknown {
  const spots: Array<{ parent: any; key: string | number }> = [];
  const walk = (v: any) => {
    if (Array.isArray(v)) v.forEach((item, i) => (spots.push({ parent: v, key: i }), walk(item)));
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) spots.push({ parent: v, key: k }), walk(v[k]);
  };
  const copy = structuredClone(value);
  walk(copy);
  if (spots.length === 0) return replacement;
  const spot = spots[choice % spots.length]!;
  spot.parent[spot.key] = replacement;
  return copy;
}

/** Raw bodies that are not what JSON.stringify writes. */
export const rawBodies = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    'null',
    '[]',
    '"str"',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '{"a":1e999}',
    '{"a":-0}',
    '{"a":"\\u0000"}',
    '{"a":"\\ud800"}',
    '{"a":1,"a":2}',
    '\ufeff{}',
    '{"data":{"batch_id":"\\u0000"}}',
  ),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 100, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/**
 * Percent-encoding that never throws: a lone surrogate becomes its generalised UTF-8 bytes (e.g.
 * %ED%A0%80), which is not valid UTF-8, the hostile case a URL can carry.
 */
export function pctEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    try {
      out += encodeURIComponent(ch);
    } catch {
      const code = ch.charCodeAt(0);
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    }
  }
  return out;
}

/** Arrays near (just under and just over) the 1 MiB body limit. */
export const nearLimitBody = fc.integer({ min: -2_000, max: 2_000 }).map((delta) => {
  const target = 1024 * 1024 + delta;
  const item = '"xxxxxxxxxxxxxxx",';
  const count = Math.floor((target - 20) / item.length);
  return `{"associations":[${item.repeat(count).slice(0, -1)}]}`;
});
