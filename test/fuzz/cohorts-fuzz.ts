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
  SplitRequestSchema,
  SplitResponseSchema,
  SummaryRequestSchema,
  SummaryResponseSchema,
} from '../../functions/cohorts/schemas.ts';
import { type CohortOptions, STRATA } from '../../shared/cohorts/dataset-options.ts';
import { type CohortFilter, filterHash } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { expectedCohort, splitPatients } from '../cohorts/dataset-reference.ts';
import { filterArb } from '../cohorts/filters.ts';
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

/** onePerPatient and sample beside the filter: mostly valid, sometimes not (a 400 naming them). */
const shaping = {
  onePerPatient: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('firstFollowUp', 'lastFollowUp') },
    { weight: 1, arbitrary: fc.constantFrom('first', 1, null) },
  ),
  sample: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record(
        {
          size: fc.integer({ min: 1, max: 400 }),
          seed: fc.string({ minLength: 1, maxLength: 8 }),
          stratifyBy: fc.subarray([...STRATA], { minLength: 1 }),
        },
        { requiredKeys: ['size', 'seed'] },
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>({ size: 0, seed: 'x' }, { size: 5 }, { size: 5, seed: '' }, 'x'),
    },
  ),
};

/** The image ids of an accepted body: the filter, then onePerPatient and sample, by the in-memory reference. */
const shapedIds = (rig: FuzzRig, b: { filter: CohortFilter } & CohortOptions): string[] =>
  expectedCohort(rig.records, b.filter, { onePerPatient: b.onePerPatient, sample: b.sample }).map(
    (r) => r.imageId as string,
  );

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
        { filter: fc.oneof(filterValue(rig), fc.constantFrom(...seeds)), pageSize, ...shaping },
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
        // The pool's tokens were issued without onePerPatient or sample: with either they do not apply.
        const shaped = o.data.onePerPatient !== undefined || o.data.sample !== undefined;
        if (!minted || shaped || filterHash(minted.filter) !== filterHash(o.data.filter))
          expect = invalid(400);
      }
      return {
        req,
        expect,
        verify: (res) => {
          drainStore(rig, res, o);
          if (res.status !== 200 || !o.data) return;
          const page = QueryResponseSchema.parse(jsonOf(res));
          const all = shapedIds(rig, o.data);
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
    postParts(
      '/v1/cohorts:summary',
      fc.record({ filter: filterValue(rig), ...shaping }, { requiredKeys: [] }),
    ).map((p): FuzzCase => {
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
          assert.equal(s.totalImages, shapedIds(rig, o.data).length);
        },
      };
    }),
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
        ...shaping,
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
            shapedIds(rig, b),
          );
          // Every URL names its own dataset object; the first few signatures are verified too.
          rows.forEach((r, i) => {
            // Without expiresInSeconds a signed URL lives 3600 s (the rig's SIGNED_URL_MAX_SECONDS is not shorter).
            const ttl = b.urls === 'signed' ? (b.expiresInSeconds ?? 3600) : undefined;
            assertDatasetUrl(r.url, r.imageId, b.imageFormat, ttl, { verifySignature: i < 5 });
          });
        },
      };
    });
  },
};

/** 2-10 parts whose fractions are hundredths summing to 1; sometimes a malformed one (a 400 naming it). */
const partsArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .integer({ min: 2, max: 10 })
      .chain((k) => fc.array(fc.integer({ min: 1, max: 20 }), { minLength: k, maxLength: k }))
      .map((w) => {
        const total = w.reduce((a, b) => a + b, 0);
        const h = w.map((x) => Math.max(1, Math.floor((x / total) * 100)));
        h[0]! += 100 - h.reduce((a, b) => a + b, 0);
        return Object.fromEntries(h.map((x, i) => [`part${i}`, x / 100]));
      })
      .filter((p) => Object.values(p).every((x) => x >= 0.01)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      { a: 1 },
      { a: 0.5, b: 0.4 },
      { 'a b': 0.5, c: 0.5 },
      { a: 0, b: 1 },
      [],
      'x',
    ),
  },
);

export const splitFuzz: RouteFuzz = {
  route: 'POST /v1/cohorts:split',
  cases: (rig) => {
    const body = fc.record(
      {
        filter: filterValue(rig),
        onePerPatient: shaping.onePerPatient,
        seed: fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom<unknown>('', 5)),
        parts: partsArb,
        stratifyBy: fc.oneof(
          fc.subarray([...STRATA], { minLength: 1 }),
          fc.constantFrom<unknown>(['age'], []),
        ),
      },
      { requiredKeys: ['seed', 'parts'] },
    );
    return postParts('/v1/cohorts:split', body).map((p): FuzzCase => {
      const req = toRequest(p);
      const o = bodyOutcome(req, [p.method, 'POST', p.path.variant], (v) => SplitRequestSchema.safeParse(v));
      return {
        req,
        expect: o.expect,
        verify: (res) => {
          drainStore(rig, res, o);
          if (res.status !== 200 || !o.data) return;
          const b = o.data;
          const s = SplitResponseSchema.parse(jsonOf(res));
          const cohort = expectedCohort(rig.records, b.filter, { onePerPatient: b.onePerPatient });
          const ref = splitPatients(cohort, { seed: b.seed, parts: b.parts, stratifyBy: b.stratifyBy });
          assert.deepEqual(
            s.parts.map((x) => [x.name, x.images, x.patients]),
            Object.keys(b.parts).map((name, i) => {
              const mine = cohort.filter((r) => ref.get(r.patientId) === i);
              return [name, mine.length, new Set(mine.map((r) => r.patientId)).size];
            }),
          );
        },
      };
    });
  },
};
