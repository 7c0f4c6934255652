/**
 * onePerPatient, samples and patient-disjoint splits on the DuckDB store, against the in-memory reference
 * (dataset-reference.ts: plain loops and node:crypto, no SQL), on the real NIH files when NIH_DATA_DIR is set
 * (else the synthetic sample): hand-picked cases, random ones (fast-check), and 100 random splits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CohortOptions,
  type Sample,
  type SplitSpec,
  STRATA,
  type Stratum,
} from '../../shared/cohorts/dataset-options.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { type CohortFilter, CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { BadRequestError } from '../../shared/http/errors.ts';
import { FINDINGS, type ImageRecord, NO_FINDING } from '../../shared/model/index.ts';
import { type DatasetFixture, datasetFixture } from './dataset-fixture.ts';
import { expectedCohort, quotas, splitPatients, stratumOf } from './dataset-reference.ts';
import { filterArb } from './filters.ts';
import { matches } from './reference.ts';

const tokens = createPageTokens('dataset-options-test-secret');
const parse = (f: unknown): CohortFilter => CohortFilterSchema.parse(f);

/** Ten filters of different shapes and sizes: the onePerPatient figures of the issue. */
const TEN_FILTERS: [string, CohortFilter][] = (
  [
    ['everything', {}],
    ['Effusion', { findings: { all: ['Effusion'] } }],
    ['Mass or Nodule', { findings: { any: ['Mass', 'Nodule'] } }],
    ['no finding', { noFinding: true }],
    ['women over 60', { sex: ['F'], age: { min: 60 } }],
    ['AP views', { view: ['AP'] }],
    ['test split', { split: ['test'] }],
    ['has a box', { hasBoundingBox: true }],
    ['four-findings labelled', { expert: { fourFindings: {} } }],
    [
      'men 20-40, PA, Infiltration',
      { sex: ['M'], age: { min: 20, max: 40 }, view: ['PA'], findings: { any: ['Infiltration'] } },
    ],
  ] as [string, unknown][]
).map(([n, f]) => [n, parse(f)]);

async function exported(store: CohortStore, f: CohortFilter, o: CohortOptions) {
  const rows = [];
  for await (const r of store.export(f, o)) rows.push(r);
  return rows;
}
const ids = (rs: readonly { imageId: string }[]) => rs.map((r) => r.imageId);

async function walk(store: CohortStore, f: CohortFilter, pageSize: number, o: CohortOptions) {
  const out: string[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await store.query(f, pageSize, token, o);
    out.push(...ids(page.images));
    if (!page.nextPageToken) return out;
    token = page.nextPageToken;
  }
}

/** Spec bound: within 1% of the fraction, or within one patient. */
function withinBounds(size: number, fraction: number, patients: number): boolean {
  return Math.abs(size - fraction * patients) <= 1 + 1e-9 || Math.abs(size / patients - fraction) <= 0.01;
}

const strataArb = fc.option(fc.subarray([...STRATA] as Stratum[], { minLength: 1 }), { nil: undefined });
const seedArb = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' });
const onePerPatientArb = fc.constantFrom(undefined, 'firstFollowUp' as const, 'lastFollowUp' as const);
/** 2-10 parts whose fractions are hundredths summing to exactly 1. */
const partsArb = fc
  .integer({ min: 2, max: 10 })
  .chain((k) => fc.array(fc.integer({ min: 1, max: 20 }), { minLength: k, maxLength: k }))
  .map((w) => {
    const total = w.reduce((a, b) => a + b, 0);
    const hundredths = w.map((x) => Math.max(1, Math.floor((x / total) * 100)));
    hundredths[0]! += 100 - hundredths.reduce((a, b) => a + b, 0);
    return hundredths[0]! >= 1 ? hundredths : null;
  })
  .filter((h): h is number[] => h !== null)
  .map((h) => Object.fromEntries(h.map((x, i) => [`part${i}`, x / 100])));

describe('dataset building on DuckDB against the in-memory reference', () => {
  let fx: DatasetFixture;
  let records: ImageRecord[];
  let store: CohortStore;
  before(async () => {
    fx = await datasetFixture();
    records = fx.records;
    store = await createDuckDbCohortStore({ tokens });
    await store.load(records.map(toCohortRows));
  });
  after(async () => {
    await store?.close();
    await fx?.cleanup();
  });

  describe('onePerPatient', () => {
    for (const [label, f] of TEN_FILTERS) {
      it(`${label}: both modes keep exactly one image per patient, the first or last follow-up`, async (t) => {
        const patients = new Set(records.filter((r) => matches(r, f)).map((r) => r.patientId)).size;
        for (const mode of ['firstFollowUp', 'lastFollowUp'] as const) {
          const o = { onePerPatient: mode };
          const want = expectedCohort(records, f, o);
          assert.equal(want.length, patients);
          assert.deepEqual(ids(await exported(store, f, o)), ids(want));
          const page = await store.query(f, 20, undefined, o);
          assert.equal(page.totalImages, patients, 'totals count what is kept');
          assert.equal(page.totalPatients, patients);
          assert.deepEqual(ids(page.images), ids(want.slice(0, 20)));
          const summary = await store.summary(f, o);
          assert.equal(summary.totalImages, patients);
          assert.equal(summary.split.test + summary.split.train_val, patients);
        }
        t.diagnostic(`${fx.source}: ${label}: ${patients} patients = onePerPatient images`);
      });
    }
  });

  describe('sample', () => {
    const cases: [string, CohortFilter, CohortOptions][] = [
      ['100 of everything', {}, { sample: { size: 100, seed: 'a' } }],
      [
        '500 stratified by sex and view',
        {},
        { sample: { size: 500, seed: 'b', stratifyBy: ['sex', 'view'] } },
      ],
      [
        '333 by every stratum, one per patient',
        {},
        { onePerPatient: 'lastFollowUp', sample: { size: 333, seed: 'c', stratifyBy: [...STRATA] } },
      ],
      [
        'age bands of Effusion',
        parse({ findings: { all: ['Effusion'] } }),
        { sample: { size: 57, seed: 'd', stratifyBy: ['ageBand'] } },
      ],
      ['larger than the cohort', parse({ patientIds: [1, 2, 3] }), { sample: { size: 10_000, seed: 'e' } }],
      [
        'unicode seed',
        parse({ noFinding: false }),
        { sample: { size: 40, seed: 'séme 🌱', stratifyBy: ['noFinding', 'split'] } },
      ],
    ];
    for (const [label, f, o] of cases) {
      it(`${label}: the reference's images, and every stratum's share exact to the largest-remainder rule`, async () => {
        const s = o.sample as Sample;
        const want = expectedCohort(records, f, o);
        const got = await exported(store, f, o);
        assert.deepEqual(ids(got), ids(want));
        const page = await store.query(f, 10, undefined, o);
        assert.equal(page.totalImages, want.length);
        assert.equal((await store.summary(f, o)).totalImages, want.length);
        // Shares: counted from the cohort independently of the store, then compared stratum by stratum.
        const cohort = expectedCohort(records, f, { onePerPatient: o.onePerPatient });
        const sizes = new Map<string, number>();
        for (const r of cohort)
          sizes.set(stratumOf(r, s.stratifyBy), (sizes.get(stratumOf(r, s.stratifyBy)) ?? 0) + 1);
        const wanted = Math.min(s.size, cohort.length);
        assert.equal(got.length, wanted);
        const q = quotas(sizes, wanted);
        const byId = new Map(records.map((r) => [r.imageId as string, r]));
        const counts = new Map<string, number>();
        for (const r of got) {
          const k = stratumOf(byId.get(r.imageId)!, s.stratifyBy);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, n] of sizes) {
          const exact = (wanted * n) / cohort.length;
          const c = counts.get(k) ?? 0;
          assert.equal(c, q.get(k), `stratum ${k}`);
          assert.ok(c === Math.floor(exact) || c === Math.ceil(exact), `stratum ${k}: ${c} vs ${exact}`);
        }
      });
    }

    it('the same request draws the same images; another seed another draw', async () => {
      const o = { sample: { size: 200, seed: 'same' } };
      const a = ids(await exported(store, {}, o));
      assert.deepEqual(ids(await exported(store, {}, o)), a);
      const b = ids(await exported(store, {}, { sample: { size: 200, seed: 'other' } }));
      assert.equal(b.length, 200);
      assert.ok(a.filter((x) => b.includes(x)).length < 100, 'another seed draws mostly other images');
    });

    it('pages through a sample in order, and refuses a token issued for another sample or none', async () => {
      const o = { onePerPatient: 'firstFollowUp' as const, sample: { size: 250, seed: 'pages' } };
      const want = ids(expectedCohort(records, {}, o));
      assert.deepEqual(await walk(store, {}, 60, o), want);
      const page = await store.query({}, 60, undefined, o);
      assert.ok(page.nextPageToken);
      for (const other of [
        {},
        { ...o, sample: { size: 250, seed: 'other' } },
        { onePerPatient: o.onePerPatient },
      ]) {
        await assert.rejects(
          store.query({}, 60, page.nextPageToken, other),
          (e: unknown) => e instanceof BadRequestError && /different filter or options/.test(e.message),
        );
      }
    });

    it('random filters, onePerPatient, sizes, seeds and strata (40 runs, 10 on the real data): the reference images', async () => {
      const patientIds = [...new Set(records.map((r) => r.patientId))];
      await fc.assert(
        fc.asyncProperty(
          filterArb(patientIds),
          onePerPatientArb,
          fc.integer({ min: 1, max: 3000 }),
          seedArb,
          strataArb,
          async (f, onePerPatient, size, seed, stratifyBy) => {
            const o: CohortOptions = {
              onePerPatient,
              sample: { size, seed, ...(stratifyBy ? { stratifyBy } : {}) },
            };
            assert.deepEqual(ids(await exported(store, f, o)), ids(expectedCohort(records, f, o)));
          },
        ),
        { numRuns: fx?.source === 'nih' ? 10 : 40, seed: 1919 },
      );
    });
  });

  describe('split', () => {
    // Cohorts of 700 to 5,000 patients on the real data (the whole dataset is split below, three times).
    const filters = TEN_FILTERS.filter(([n]) => !['everything', 'no finding', 'AP views'].includes(n)).map(
      ([, f]) => f,
    );

    /** Checks one split of a cohort against the reference; returns the largest part-size deviation. */
    async function checkSplit(
      f: CohortFilter,
      onePerPatient: CohortOptions['onePerPatient'],
      split: SplitSpec,
    ) {
      const rows = await exported(store, f, { onePerPatient, split });
      const partOf = new Map<number, string>();
      for (const r of rows) {
        assert.ok(r.part, 'every row has its part');
        const seen = partOf.get(r.patientId);
        assert.ok(seen === undefined || seen === r.part, `patient ${r.patientId} in ${seen} and ${r.part}`);
        partOf.set(r.patientId, r.part);
      }
      const patients = partOf.size;
      const names = Object.keys(split.parts);
      const sizes = new Map<string, number>();
      for (const p of partOf.values()) sizes.set(p, (sizes.get(p) ?? 0) + 1);
      let worst = 0;
      for (const [name, fraction] of Object.entries(split.parts)) {
        const size = sizes.get(name) ?? 0;
        worst = Math.max(worst, Math.abs(size - fraction * patients));
        assert.ok(withinBounds(size, fraction, patients), `${name}: ${size} of ${patients} for ${fraction}`);
      }
      const cohort = expectedCohort(records, f, { onePerPatient });
      const ref = splitPatients(cohort, split);
      assert.deepEqual(ids(rows), ids(cohort));
      for (const [p, name] of partOf) assert.equal(name, names[ref.get(p)!], `patient ${p}`);
      // The :split answer: per part, the reference's images, patients and finding counts (one pass).
      const want = names.map(() => ({
        images: 0,
        patients: new Set<number>(),
        findings: new Map<string, number>(),
      }));
      for (const r of cohort) {
        const w = want[ref.get(r.patientId)!]!;
        w.images++;
        w.patients.add(r.patientId);
        for (const n of r.findings.length ? r.findings : [NO_FINDING])
          w.findings.set(n, (w.findings.get(n) ?? 0) + 1);
      }
      const answer = await store.split(f, { onePerPatient, split });
      assert.equal(answer.totalPatients, patients);
      assert.equal(answer.totalImages, cohort.length);
      answer.parts.forEach((part, i) => {
        const w = want[i]!;
        assert.equal(part.name, names[i]);
        assert.equal(part.images, w.images);
        assert.equal(part.patients, w.patients.size);
        for (const n of [...FINDINGS, NO_FINDING] as const)
          assert.equal(part.findings[n], w.findings.get(n) ?? 0, n);
      });
      return worst;
    }

    it('100 random splits: no patient in two parts, every part within bounds, equal to the reference', async (t) => {
      let worst = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...filters),
          onePerPatientArb,
          seedArb,
          partsArb,
          strataArb,
          async (f, onePerPatient, seed, parts, stratifyBy) => {
            const split: SplitSpec = { seed, parts, ...(stratifyBy ? { stratifyBy } : {}) };
            worst = Math.max(worst, await checkSplit(f, onePerPatient, split));
          },
        ),
        { numRuns: 100, seed: 20190419 },
      );
      t.diagnostic(
        `${fx.source}: largest |part size - fraction x patients| over 100 splits: ${worst.toFixed(2)} patients`,
      );
    });

    for (const [onePerPatient, stratifyBy] of [
      [undefined, undefined],
      ['firstFollowUp', ['sex', 'ageBand']],
      ['lastFollowUp', [...STRATA]],
    ] as const) {
      it(`the whole dataset, ${onePerPatient ?? 'every image'}, strata ${stratifyBy?.join('+') ?? 'none'}: disjoint, within bounds, the reference`, async (t) => {
        const split: SplitSpec = {
          seed: `whole-${onePerPatient}`,
          parts: { train: 0.7, validation: 0.1, test: 0.2 },
          ...(stratifyBy ? { stratifyBy: [...stratifyBy] } : {}),
        };
        const worst = await checkSplit({}, onePerPatient, split);
        t.diagnostic(`${fx.source}: largest |part size - fraction x patients|: ${worst.toFixed(2)} patients`);
      });
    }

    it('a stratified split shares each stratum alike: every stratum within a few patients of its share', async () => {
      const split: SplitSpec = {
        seed: 's',
        parts: { train: 0.7, val: 0.1, test: 0.2 },
        stratifyBy: ['sex', 'view', 'noFinding'],
      };
      const rows = await exported(store, {}, { onePerPatient: 'firstFollowUp', split });
      const byStratum = new Map<string, Map<string, number>>();
      const byId = new Map(records.map((r) => [r.imageId as string, r]));
      for (const r of rows) {
        const k = stratumOf(byId.get(r.imageId)!, split.stratifyBy);
        const m = byStratum.get(k) ?? new Map<string, number>();
        m.set(r.part!, (m.get(r.part!) ?? 0) + 1);
        byStratum.set(k, m);
      }
      for (const [k, m] of byStratum) {
        const n = [...m.values()].reduce((a, b) => a + b, 0);
        for (const [name, fraction] of Object.entries(split.parts)) {
          const c = m.get(name) ?? 0;
          assert.ok(Math.abs(c - fraction * n) <= byStratum.size, `${k}/${name}: ${c} of ${n}`);
        }
      }
    });
  });
});
