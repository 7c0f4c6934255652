/** Path segments (ids) as sent on the wire, route path variants and methods, for the route fuzzers. */
import fc from 'fast-check';
import { NASTY_STRINGS, nastyString, pct } from './arbitraries.ts';

/** Characters a path may carry unencoded without the client rewriting them. */
const RAW_SAFE = /^[A-Za-z0-9._~%:@!$&()*+,;=-]*$/;

/** How a segment value goes on the wire: encoded, double-encoded, or raw when the client leaves it alone. */
export function wire(values: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(values, fc.constantFrom('encoded', 'raw', 'raw', 'double'))
    .map(([v, how]) => (how === 'double' ? pct(pct(v)) : how === 'raw' && RAW_SAFE.test(v) ? v : pct(v)));
}

const TRAVERSAL = [
  '..',
  '.',
  '%2e%2e',
  '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%252e%252e',
  '..%5C..%5C',
  '%2F',
  '%2Fgcs-public-data--healthcare-nih-chest-xray%2Fpng%2F00000001_000.png',
  'https:%2F%2Fevil.example%2F00000001_000',
  'gs:%2F%2Fother-bucket%2Fpng%2F00000001_000.png',
  '00000001_000%2F..%2F..%2Fother-bucket',
  '00000001_000%00',
  '00000001_000%0d%0aX-Injected:%201',
  '00000001_000;x=1',
  '%zz',
  '%',
  '%E0%A4%A',
  '%C0%AE%C0%AE',
];

/** What the image routes accept as an id segment (the decoded path), and the id it names. */
export const IMAGE_ID_SEGMENT = /^\d{8}_\d{3}(\.png)?$/;
export const imageIdOf = (segment: string): string => segment.replace(/\.png$/, '');

/** Image id segments: real ids, unknown but well-formed ids, near misses, traversal and other buckets. */
export function imageIdSegment(realIds: readonly string[]): fc.Arbitrary<string> {
  const real = fc.constantFrom(...realIds);
  const shaped = fc
    .tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 999 }))
    .map(([p, f]) => `${String(p).padStart(8, '0')}_${String(f).padStart(3, '0')}`);
  const nearMiss = fc.oneof(
    real.map((id) => `${id}.png`),
    real.map((id) => `${id}.PNG`),
    real.map((id) => `${id}.dcm`),
    real.map((id) => id.slice(1)),
    real.map((id) => `0${id}`),
    real.map((id) => id.replace('_', '-')),
    real.map((id) => `${id}x`),
  );
  return fc.oneof(
    {
      weight: 4,
      arbitrary: wire(
        fc.oneof(
          real,
          real.map((id) => `${id}.png`),
        ),
      ),
    },
    { weight: 2, arbitrary: wire(shaped) },
    { weight: 2, arbitrary: wire(nearMiss) },
    { weight: 2, arbitrary: fc.constantFrom(...TRAVERSAL) },
    { weight: 2, arbitrary: wire(nastyString) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(real, fc.constantFrom(...TRAVERSAL))
        .map(([id, t]) => (t.length % 2 ? `${id}${t}` : `${t}${id}`)),
    },
  );
}

/** Patient id segments: real ids, numbers of every shape, and the strings above. */
export function patientIdSegment(realIds: readonly number[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...realIds).map(String) },
    { weight: 1, arbitrary: fc.constantFrom(...realIds).map((n) => String(n).padStart(8, '0')) },
    { weight: 2, arbitrary: fc.integer({ min: -10, max: 200_000_000 }).map(String) },
    {
      weight: 2,
      arbitrary: wire(
        fc.constantFrom(
          '0',
          '-1',
          '1.5',
          '1e3',
          '0x10',
          '+1',
          ' 1',
          '1 ',
          'NaN',
          'Infinity',
          '1_000',
          '١',
          ...NASTY_STRINGS,
        ),
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(...TRAVERSAL) },
    { weight: 1, arbitrary: wire(nastyString) },
  );
}

export type PathVariant = 'exact' | 'trailing-slash' | 'double-slash' | 'other';

/** The route's path as given, or with a trailing slash, doubled slashes, or altered so it no longer matches. */
export function pathVariant(path: string): fc.Arbitrary<{ path: string; variant: PathVariant }> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant({ path, variant: 'exact' as const }) },
    { weight: 1, arbitrary: fc.constant({ path: `${path}/`, variant: 'trailing-slash' as const }) },
    {
      weight: 1,
      arbitrary: fc.constant({ path: path.replace(/\//g, '//'), variant: 'double-slash' as const }),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          path.toUpperCase(),
          path.replace(':', '%3A'),
          path.replace('/v1/', '/v2/'),
          `${path}/extra`,
          path.replace('/v1', ''),
          `/v1/..${path.slice(3)}`,
        )
        .filter((p) => p !== path)
        .map((p) => ({ path: p, variant: 'other' as const })),
    },
  );
}

/** Mostly the route's method; sometimes HEAD, OPTIONS or a method no route has. */
export function methodFor(method: 'GET' | 'POST'): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(method) },
    { weight: 1, arbitrary: fc.constantFrom('HEAD', 'OPTIONS') },
    { weight: 2, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', method === 'GET' ? 'POST' : 'GET') },
  );
}

/** What a wrong method or path gets before any input is looked at; undefined when the route is reached. */
export function routingOutcome(
  method: string,
  routeMethod: 'GET' | 'POST',
  variant: PathVariant,
): 'options' | 'not-found' | 'method-not-allowed' | undefined {
  if (method === 'OPTIONS') return 'options';
  if (variant === 'other') return 'not-found';
  const same = method === routeMethod || (method === 'HEAD' && routeMethod === 'GET');
  return same ? undefined : 'method-not-allowed';
}
