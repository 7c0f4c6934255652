/**
 * Generators of hostile HTTP input, shared by the route fuzzers: strings that break parsers and regexes,
 * path segments that try to climb out of the route or name other objects, mutated JSON values, JSON text
 * that is malformed, huge or deeply nested, query strings with repeated and bracketed keys, and header tricks.
 */
import fc from 'fast-check';

/** Strings known to upset something: traversal, encodings, control and bidi characters, look-alike digits. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '..',
  '../',
  '..\\..\\windows',
  '/etc/passwd',
  '%2e%2e',
  '%00',
  '\u0000',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\u202e',
  '\u2028',
  'Ｍ',
  '٠٠٠٠٠٠٠١_٠٠٠',
  '𝟎𝟎𝟎𝟎𝟎𝟎𝟎𝟏_𝟎𝟎𝟎',
  '00000001_000\n',
  ' 00000001_000',
  '00000001_000.dcm',
  '00000001_000.png.png',
  '00000001_000/../../other',
  'gs://other-bucket/png/00000001_000.png',
  'https://evil.example/png/00000001_000.png',
  '__proto__',
  'constructor',
  'prototype',
  "' OR '1'='1",
  '"; DROP TABLE cohort_images; --',
  '$\u007bjndi:ldap://x}',
  '{{7*7}}',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'true',
  'null',
];

/** Percent-encodes any string, lone surrogates included (as U+FFFD, like a client would send them). */
export const pct = (s: string): string => encodeURIComponent(s.toWellFormed());

/** Any string: nasty constants, full Unicode (including lone surrogates written as \u escapes), long runs. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', '0', '\u00e9', '../', '%'), fc.integer({ min: 100, max: 1000 }))
      .map(([s, n]) => s.repeat(n)),
  },
);

/** Any JSON value, with nasty strings and numbers at the edges of what JSON and int64 can carry. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: nastyString },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      0,
      -1,
      1.5,
      1e21,
      -1e21,
      2 ** 53,
      2 ** 63,
      Number.MAX_SAFE_INTEGER + 2,
      Number.MIN_VALUE,
      null,
      true,
      false,
      [],
      {},
      [null],
      [[]],
    ),
  },
);

/** Sets an own enumerable key, even `__proto__`, so that JSON.stringify writes it. */
function withKey(o: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out = { ...o };
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

type Path = (string | number)[];

function pathsOf(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) for (const [i, x] of v.slice(0, 20).entries()) pathsOf(x, [...prefix, i], out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, k], out);
  return out;
}

function setAt(v: unknown, path: Path, f: (old: unknown) => unknown): unknown {
  if (path.length === 0) return f(v);
  const [head, ...rest] = path;
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? setAt(x, rest, f) : x));
  if (v && typeof v === 'object') {
    return withKey(v as Record<string, unknown>, String(head), setAt((v as never)[head as never], rest, f));
  }
  return v;
}

type Mutation = (old: unknown) => unknown;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: anyJson.map((x) => () => x) },
  { weight: 1, arbitrary: fc.constant<Mutation>((old) => (typeof old === 'number' ? String(old) : old)) },
  {
    weight: 1,
    arbitrary: fc.constant<Mutation>((old) =>
      typeof old === 'string' && /^\d+$/.test(old) ? Number(old) : old,
    ),
  },
  { weight: 1, arbitrary: fc.constant<Mutation>((old) => [old]) },
  { weight: 1, arbitrary: fc.constant<Mutation>((old) => (Array.isArray(old) ? [...old, ...old] : old)) },
  {
    weight: 1,
    // Long arrays of small values only: nested fills of large values would grow without bound.
    arbitrary: fc
      .integer({ min: 1, max: 1200 })
      .map<Mutation>(
        (n) => (old) => Array((JSON.stringify(old) ?? '').length > 64 ? Math.min(n, 4) : n).fill(old),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constantFrom('__proto__', 'constructor', 'filter', 'imageIds', ''), nastyString),
        anyJson,
      )
      .map<Mutation>(
        ([k, x]) =>
          (old) =>
            old && typeof old === 'object' && !Array.isArray(old)
              ? withKey(old as Record<string, unknown>, k, x)
              : old,
      ),
  },
  {
    weight: 1,
    arbitrary: fc.nat().map<Mutation>((i) => (old) => {
      if (!old || typeof old !== 'object' || Array.isArray(old)) return old;
      const keys = Object.keys(old);
      if (keys.length === 0) return old;
      const drop = keys[i % keys.length]!;
      return Object.fromEntries(Object.entries(old).filter(([k]) => k !== drop));
    }),
  },
);

/** `value` with 1-3 of its nodes replaced, wrapped, repeated, stripped of a key or given a stray key. */
export function mutated(value: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(value);
  return fc
    .array(fc.tuple(fc.nat({ max: paths.length - 1 }), mutation), { minLength: 1, maxLength: 3 })
    .map((ms) => ms.reduce((v, [i, m]) => setAt(v, paths[i]!, m), value));
}

/** JSON text of a value, or a broken version of it: truncated, spliced, padded, given a BOM or trailing junk. */
export function jsonText(value: unknown): fc.Arbitrary<string> {
  const text = JSON.stringify(value) ?? 'null';
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(text) },
    { weight: 1, arbitrary: fc.nat({ max: Math.max(0, text.length - 1) }).map((n) => text.slice(0, n)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.nat({ max: text.length }), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 3 }))
        .map(([i, s]) => text.slice(0, i) + s + text.slice(i)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(`\ufeff${text}`, `${text}}`, `${text}garbage`, ` \t\r\n${text}\n`),
    },
    { weight: 1, arbitrary: fc.constantFrom(text.replace(/"/g, "'"), text.replace(/:/g, '=')) },
  );
}

/** JSON text that stresses the parser itself: deep nesting, long arrays, huge strings, numbers, non-JSON. */
export const stressText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 10, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 10, max: 20_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.integer({ min: 10, max: 5000 }).map((n) => `{"filter":${'['.repeat(n)}${']'.repeat(n)}}`),
  fc
    .integer({ min: 1, max: 60_000 })
    .map((n) => `{"imageIds":[${Array(n).fill('"00000001_000"').join(',')}]}`),
  fc.integer({ min: 1000, max: 1_200_000 }).map((n) => `{"pad":"${'x'.repeat(n)}"}`),
  fc.constantFrom('', ' ', 'null', 'true', '0', '"x"', '[]', '{}', '{"a":1,"a":2}', '1'.repeat(400), 'NaN'),
  fc.constantFrom('{"imageIds":["\\ud800"]}', '{"filter":{"sex":["\\u0000"]}}', '{"\\u0000":1}'),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

export interface HeaderTricks {
  contentType: string | undefined;
  headers: Record<string, string>;
  /** Declare fewer bytes than are sent (the server reads only those; the connection is then closed). */
  shortLength: number | undefined;
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'];
export const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/problem+json',
  'application/vnd.api+json',
  'application/jsonx',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=utf8',
  'application/json; charset=bogus',
  'application/json; charset',
  'application/json, text/html',
  'text/json',
  '*/*',
  '',
];

const headerValue = fc
  .string({ unit: 'binary-ascii', maxLength: 64 })
  .map((s) => s.replace(/[^\x20-\x7e]/g, ''));

/** One header that a careless or hostile client might send (all legal on the wire). */
const oddHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.constant('origin'),
      fc.constantFrom('https://app.example', 'https://evil.example', 'null', 'https://app.example.evil'),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constant('accept'),
      fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/problem+json', ''),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constant('if-none-match'), fc.constantFrom('*', '"x"', 'W/"x"', '"a", "b"', '')),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant('content-encoding'),
      fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, gzip'),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant('x-forwarded-for'),
      fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', 'unknown', 'a'.repeat(200)),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom('x-cloud-trace-context', 'traceparent', 'user-agent', 'x-goog-user-project'),
      headerValue,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant('x-pad'),
      fc.integer({ min: 1, max: 4000 }).map((n) => 'p'.repeat(n)),
    ),
  },
);

/** Content type, odd but legal headers, sometimes a wrong Content-Encoding or a short Content-Length. */
export const headerTricks: fc.Arbitrary<HeaderTricks> = fc.record({
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...JSON_TYPES) },
    { weight: 3, arbitrary: fc.constantFrom(...OTHER_TYPES) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  headers: fc
    .uniqueArray(oddHeader, { maxLength: 3, selector: ([name]) => name })
    .map((pairs) => Object.fromEntries(pairs)),
  shortLength: fc.oneof(
    { weight: 20, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.nat({ max: 50 }) },
  ),
});

/** A well-behaved client: JSON content type, maybe an Origin or a conditional header. */
export const cleanTricks: fc.Arbitrary<HeaderTricks> = fc.record({
  contentType: fc.constantFrom(...JSON_TYPES),
  headers: fc
    .uniqueArray(
      oddHeader.filter(([name]) => ['origin', 'accept', 'if-none-match'].includes(name)),
      {
        maxLength: 2,
        selector: ([name]) => name,
      },
    )
    .map((pairs) => Object.fromEntries(pairs)),
  shortLength: fc.constant(undefined),
});

/** A query string: repeated keys, bracketed keys, prototype names, malformed escapes. */
export function queryString(keys: readonly string[], values: readonly string[]): fc.Arbitrary<string> {
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...keys) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        ...keys.map((k) => `${k}[]`),
        ...keys.map((k) => `${k}[0]`),
        '__proto__',
        '__proto__[x]',
        'constructor[prototype][x]',
        'a[b][c][d][e]',
        '%zz',
      ),
    },
    { weight: 1, arbitrary: nastyString.map(pct) },
  );
  const value = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...values) },
    { weight: 1, arbitrary: fc.constantFrom('', '%', '%zz', '%E0%A4%A', '+', '%00', 'a&b', '%26') },
    { weight: 1, arbitrary: nastyString.map(pct) },
  );
  return fc
    .array(fc.tuple(key, value), { maxLength: 6 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));
}

/**
 * Batches of image ids for the batch routes: mostly known ids, some with `.png`, some unknown (`_<suffix>`),
 * and now and then exactly `max` or `max + 1` of them (the 413 boundary).
 */
export function imageIdBatches(
  knownIds: readonly string[],
  opts: { unknownSuffix: string; maxLength: number; max: number },
): fc.Arbitrary<string[]> {
  const id = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...knownIds) },
    { weight: 1, arbitrary: fc.constantFrom(...knownIds).map((x) => `${x}.png`) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 0, max: 99_999_999 })
        .map((n) => `${String(n).padStart(8, '0')}_${opts.unknownSuffix}`),
    },
  );
  return fc.oneof(
    { weight: 20, arbitrary: fc.array(id, { minLength: 1, maxLength: opts.maxLength }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(opts.max, opts.max + 1)
        .chain((n) => fc.array(id, { minLength: n, maxLength: n })),
    },
  );
}
