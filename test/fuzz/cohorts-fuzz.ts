/**
 * Fuzzers of the cohorts routes (DuckDB): query with page tokens, summary, export. Accepted requests are
 * checked against the plain reference evaluation of the filter; every filter that reaches the store must
 * compile to the SQL text of its canonical same-shape filter.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ExportRequestSchema,
  QueryRequestSchema,
  QueryResponseSchema,
  SummaryRequestSchema,
  SummaryResponseSchema,
} from '../../functions/cohorts/schemas.ts';
import { type CohortFilter, filterHash } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { filterArb } from '../cohorts/filters.ts';
import { expectedIds } from '../cohorts/reference.ts';
import { nastyString } from './arbitraries.ts';
import { type FuzzRequest, invalid, modelJsonBody, type Outcome, type Res, valid } from './check.ts';
import { type FuzzRig, SECRETS } from './rig.ts';
import { type FuzzCase, jsonOf, postParts, type RouteFuzz, routed, toRequest } from './route-fuzz.ts';
import { assertDatasetUrl } from './signed-urls.ts';
import { assertSqlShape } from './sql-shape.ts';

/** Page tokens minted with the rig's secret for known filters, so that valid and misused tokens both occur. */
function tokenPool(
  rig: FuzzRig,
  filters: CohortFilter[],
): Map<string, { filter: CohortFilter; after: string }> {
  const tokens = createPageTokens(SECRETS.pageTokenSecret);
  const pool = new Map<string, { filter: CohortFilter; after: string }>();
  filters.forEach((filter, i) => {
    const after = rig.imageIds[(i * 37) % rig.imageIds.length]!;
    pool.set(tokens.issue(filter, after), { filter, after });
  });
  return pool;
}

const filterValue = (rig: FuzzRig) => filterArb(rig.patientIds);

/** Decides the outcome of a POST body with the route's schema; undefined value = the request was refused. */
export function bodyOutcome<T>(
  req: FuzzRequest,
  p: Parameters<typeof routed>,
  parse: (v: unknown) => { success: true; data: T } | { success: false },
): { expect: Outcome; data?: T } {
  const r = routed(...p);
  if (r) return { expect: r };
  const m = modelJsonBody(req);
  if ('outcome' in m) return { expect: m.outcome };
  const parsed = parse(m.value);
  return parsed.success ? { expect: valid(200), data: parsed.data } : { expect: invalid(400) };
}

/** After every cohorts request: each filter that reached the store has the canonical SQL shape. */
function drainStore(rig: FuzzRig, res: Res, o: { expect: Outcome; data?: unknown }): void {
  const mayReachStore = o.data !== undefined || o.expect.kind === 'either';
  const seen = rig.storeFilters.splice(0);
  if (!mayReachStore) assert.equal(seen.length, 0, `a refused request (${res.status}) reached the store`);
  for (const f of seen) assertSqlShape(f);
}

export const queryFuzz: RouteFuzz = {
  route: 'POST /v1/cohorts:query',
  cases: (rig) => {
    const seeds = fc.sample(filterValue(rig), { numRuns: 40, seed: 5 });
    const pool = tokenPool(rig, [{}, ...seeds]);
    const tokensList = [...pool.keys()];
    const token = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...tokensList) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(...tokensList)
          .map((t) => t.slice(0, -2) + (t.endsWith('A') ? 'B' : 'A') + t.slice(-1)),
      },
      { weight: 1, arbitrary: nastyString },
    );
    const pageSize = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(1000, 1001, 0, -1));
    const body = fc.oneof(
      // A first page; the next page of a known filter (its own token, or a token of another filter); junk.
      fc.record(
        { filter: fc.oneof(filterValue(rig), fc.constantFrom(...seeds)), pageSize },
        { requiredKeys: [] },
      ),
      fc
        .tuple(fc.constantFrom(...pool), fc.constantFrom(...pool), fc.boolean(), fc.option(pageSize))
        .map(([[t, m], [, other], own, n]) => ({
          filter: own ? m.filter : other.filter,
          pageToken: t,
          ...(n === null ? {} : { pageSize: n }),
        })),
      fc.record({ filter: filterValue(rig), pageSize, pageToken: token }, { requiredKeys: ['pageToken'] }),
    );
    return postParts('/v1/cohorts:query', body).map((p): FuzzCase => {
      const req = toRequest(p);
      const o = bodyOutcome(req, [p.method, 'POST', p.path.variant], (v) => QueryRequestSchema.safeParse(v));
      let expect = o.expect;
      let minted: { filter: CohortFilter; after: string } | undefined;
      if (o.data?.pageToken !== undefined) {
        minted = pool.get(o.data.pageToken);
        if (!minted || filterHash(minted.filter) !== filterHash(o.data.filter)) expect = invalid(400);
      }
      return {
        req,
        expect,
        verify: (res) => {
          drainStore(rig, res, o);
          if (res.status !== 200 || !o.data) return;
          const page = QueryResponseSchema.parse(jsonOf(res));
          const all = expectedIds(rig.records, o.data.filter);
          const rest = minted ? all.filter((id) => id > minted.after) : all;
          assert.equal(page.totalImages, all.length);
          assert.deepEqual(
            page.images.map((x) => x.imageId),
            rest.slice(0, o.data.pageSize),
          );
          assert.equal(page.nextPageToken === null, rest.length <= o.data.pageSize);
        },
      };
    });
  },
};

export const summaryFuzz: RouteFuzz = {
  route: 'POST /v1/cohorts:summary',
  cases: (rig) =>
    postParts('/v1/cohorts:summary', fc.record({ filter: filterValue(rig) }, { requiredKeys: [] })).map(
      (p): FuzzCase => {
        const req = toRequest(p);
        const o = bodyOutcome(req, [p.method, 'POST', p.path.variant], (v) =>
          SummaryRequestSchema.safeParse(v),
        );
        return {
          req,
          expect: o.expect,
          verify: (res) => {
            drainStore(rig, res, o);
            if (res.status !== 200 || !o.data) return;
            const s = SummaryResponseSchema.parse(jsonOf(res));
            assert.equal(s.totalImages, expectedIds(rig.records, o.data.filter).length);
          },
        };
      },
    ),
};

/** The url column of a CSV export or the url field of an NDJSON export, one per image. */
function exportUrls(res: Res, format: 'csv' | 'ndjson'): { imageId: string; url: string }[] {
  const lines = res.text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  if (format === 'ndjson') {
    return lines.slice(1).map((l) => JSON.parse(l) as { imageId: string; url: string });
  }
  const [header, ...rows] = lines;
  const cols = header!.split(',');
  const id = cols.indexOf('imageId');
  const url = cols.indexOf('url');
  return rows.map((r) => {
    const f = r.split(',');
    return { imageId: f[id]!, url: f[url]! };
  });
}

export const exportFuzz: RouteFuzz = {
  route: 'POST /v1/cohorts:export',
  cases: (rig) => {
    const body = fc.record(
      {
        filter: filterValue(rig),
        format: fc.constantFrom('csv', 'ndjson'),
        urls: fc.constantFrom('gs', 'signed'),
        imageFormat: fc.constantFrom('png', 'dicom'),
        expiresInSeconds: fc.oneof(fc.integer({ min: 1, max: 604_800 }), fc.constantFrom(0, 604_801, 1.5)),
      },
      { requiredKeys: ['format'] },
    );
    return postParts('/v1/cohorts:export', body).map((p): FuzzCase => {
      const req = toRequest(p);
      const o = bodyOutcome(req, [p.method, 'POST', p.path.variant], (v) => ExportRequestSchema.safeParse(v));
      return {
        req,
        expect: o.expect,
        verify: (res) => {
          drainStore(rig, res, o);
          if (res.status !== 200 || !o.data) return;
          const b = o.data;
          assert.match(
            res.headers['content-type'] ?? '',
            b.format === 'csv' ? /^text\/csv/ : /^application\/x-ndjson/,
          );
          const rows = exportUrls(res, b.format as 'csv' | 'ndjson');
          assert.deepEqual(
            rows.map((r) => r.imageId),
            expectedIds(rig.records, b.filter),
          );
          // Every URL names its own dataset object; the first few signatures are verified too.
          rows.forEach((r, i) => {
            const ttl = b.urls === 'signed' ? b.expiresInSeconds : undefined;
            assertDatasetUrl(r.url, r.imageId, b.imageFormat, ttl, { verifySignature: i < 5 });
          });
        },
      };
    });
  },
};
