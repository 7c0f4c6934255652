/** The shape of one route's fuzzer, and the request builder the route fuzzers share. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  anyJson,
  cleanTricks,
  type HeaderTricks,
  headerTricks,
  jsonText,
  mutated,
  queryString,
  stressText,
} from './arbitraries.ts';
import { decodeSegment, EITHER, type FuzzRequest, invalid, type Outcome, type Res } from './check.ts';
import { methodFor, type PathVariant, pathVariant, routingOutcome } from './paths.ts';
import type { FuzzRig } from './rig.ts';

export interface FuzzCase {
  req: FuzzRequest;
  expect: Outcome;
  /** Route-specific checks of the response (valid outcomes especially). */
  verify?: (res: Res) => void;
}

export interface RouteFuzz {
  /** `METHOD /path`, as in the OpenAPI document. */
  route: string;
  cases(rig: FuzzRig): fc.Arbitrary<FuzzCase>;
}

/**
 * Outcome of a request that never reaches the handler: a path that does not percent-decode (400 before
 * anything else), OPTIONS, an unknown path, a wrong method.
 */
export function routed(
  method: string,
  routeMethod: 'GET' | 'POST',
  variant: PathVariant,
  path = '',
): Outcome | undefined {
  if (decodeSegment(path) === undefined) return invalid(400);
  switch (routingOutcome(method, routeMethod, variant)) {
    case 'options':
      return { kind: 'valid', statuses: [204] };
    case 'not-found':
      return invalid(404);
    case 'method-not-allowed':
      return invalid(405);
    default:
      return undefined;
  }
}

export interface PostParts {
  method: string;
  path: { path: string; variant: PathVariant };
  query: string;
  tricks: HeaderTricks;
  body: string;
}

/** Body texts built on a route's well-formed values: as they are, mutated, replaced, broken or oversized. */
export function hostileTexts(valid: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const value = fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 4, arbitrary: valid.chain(mutated) },
    { weight: 1, arbitrary: anyJson },
  );
  return fc.oneof({ weight: 12, arbitrary: value.chain(jsonText) }, { weight: 1, arbitrary: stressText });
}

/**
 * POSTs to `path`: a third are well-formed requests carrying a valid body (so that the success path is
 * exercised and checked), the rest fuzz method, path, query, headers and body (hostileTexts).
 */
export function postParts(path: string, valid: fc.Arbitrary<unknown>): fc.Arbitrary<PostParts> {
  const clean = fc.record({
    method: fc.constant('POST'),
    path: fc.constant({ path, variant: 'exact' as const }),
    query: fc.constant(''),
    tricks: cleanTricks,
    body: valid.map((v) => JSON.stringify(v)),
  });
  const hostile = fc.record({
    method: methodFor('POST'),
    path: pathVariant(path),
    query: queryString(['filter', 'pageSize', 'imageIds', 'format'], ['1', 'png', '{}', '[]']),
    tricks: headerTricks,
    body: hostileTexts(valid),
  });
  return fc.oneof({ weight: 1, arbitrary: clean }, { weight: 2, arbitrary: hostile });
}

export function toRequest(p: PostParts): FuzzRequest {
  return {
    method: p.method,
    path: p.path.path,
    query: p.query,
    contentType: p.tricks.contentType,
    headers: p.tricks.headers,
    body: p.method === 'HEAD' ? undefined : p.body,
    shortLength: p.tricks.shortLength,
  };
}

/** A GET to a path built from fuzzed segments, with fuzzed method, query and headers (no body). */
export function getParts<T>(segments: fc.Arbitrary<T>, queryKeys: string[], queryValues: string[]) {
  return fc.record({
    method: methodFor('GET'),
    segments,
    query: queryString(queryKeys, queryValues),
    tricks: headerTricks,
  });
}

/** Asserts a JSON response body parses with `schema`-like `check` and returns it. */
export function jsonOf(res: Res): unknown {
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  return JSON.parse(res.text);
}

export { EITHER };
