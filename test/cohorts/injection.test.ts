/**
 * Injection attempts change nothing but parameter values: the SQL text of both dialects is a function of
 * which filter parts are present, never of their values. The schema rejects such strings anyway (400); the
 * compiler is tested here with validation bypassed, as if a future field skipped it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileExport, compileQuery, compileSummary } from '../../shared/cohorts/compile.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { type CohortFilter, CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { ALL_FINDINGS_LABELS, READER_LABELS } from '../../shared/cohorts/reader-labels.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import { bigQueryDialect, type Dialect, duckDbDialect } from '../../shared/cohorts/sql-dialect.ts';
import {
  FINDINGS,
  FOUR_FINDINGS,
  FOUR_FINDINGS_SETS,
  READER_VALUES,
  SEXES,
  SPLITS,
  VIEWS,
} from '../../shared/model/index.ts';
import { filterArb, HAND_PICKED } from './filters.ts';
import { handRecords } from './hand-records.ts';

export const ATTACKS = [
  "' OR '1'='1",
  "M'; DROP TABLE cohort_images; --",
  '`cohort_images`',
  '"; DELETE FROM cohort_readers; --',
  '-- comment',
  '/* */ OR TRUE',
  '; SELECT 1',
  '\\',
  '$1',
  '@sex',
  '?',
  'Ｍ', // fullwidth M
  'M\u0000',
  '\u202eFP',
  'e\u0301', // combining accent
  '💥',
];

const DIALECTS: [string, Dialect][] = [
  ['BigQuery', bigQueryDialect({ project: 'nih-cxr-test', dataset: 'cohorts' })],
  ['DuckDB', duckDbDialect()],
];

/** The same filter with every string value replaced by `s` (bypassing validation, as an attacker would wish). */
function poison(f: CohortFilter, s: string): CohortFilter {
  const list = (xs: readonly unknown[] | undefined) => (xs ? xs.map(() => s) : undefined);
  const out = structuredClone(f) as Record<string, unknown> & CohortFilter;
  const any = out as unknown as Record<string, unknown>;
  if (f.findings) any.findings = Object.fromEntries(Object.entries(f.findings).map(([k, v]) => [k, list(v)]));
  for (const k of ['sex', 'view', 'split'] as const) if (f[k]) any[k] = list(f[k]);
  const ff = f.expert?.fourFindings;
  if (ff?.set) (any.expert as { fourFindings: Record<string, unknown> }).fourFindings.set = list(ff.set);
  const expert = any.expert as Record<string, Record<string, unknown>> | undefined;
  if (ff?.disputed) expert!.fourFindings!.disputed = list(ff.disputed);
  if (ff?.hedged) expert!.fourFindings!.hedged = list(ff.hedged);
  if (f.expert?.allFindings?.disputed) expert!.allFindings!.disputed = list(f.expert.allFindings.disputed);
  if (f.expert?.reader) expert!.reader = { id: s, finding: s, value: s };
  return out;
}

/** The same filter parts with different values: rotated findings, flipped booleans, other ids and ages. */
function sameShapeOtherValues(f: CohortFilter, k: number): CohortFilter {
  const rot = <T>(all: readonly T[], xs: readonly T[]) =>
    xs.map((x) => all[(all.indexOf(x) + (k % (all.length - 1)) + 1) % all.length]!);
  const flip = (v: boolean | undefined) => (v === undefined ? undefined : !v);
  const b = structuredClone(f) as Record<string, unknown>;
  if (f.findings) {
    b.findings = Object.fromEntries(
      Object.entries(f.findings).map(([key, v]) => [key, rot(FINDINGS, v ?? [])]),
    );
  }
  if (f.noFinding !== undefined) b.noFinding = !f.noFinding;
  if (f.hasBoundingBox !== undefined) b.hasBoundingBox = !f.hasBoundingBox;
  if (f.age) b.age = { ...f.age, ...(f.age.min !== undefined ? { min: (f.age.min + k) % 60 } : {}) };
  if (f.age?.max !== undefined) (b.age as { max: number }).max = 60 + ((f.age.max + k) % 60);
  if (f.sex) b.sex = rot(SEXES, f.sex);
  if (f.view) b.view = rot(VIEWS, f.view);
  if (f.split) b.split = rot(SPLITS, f.split);
  if (f.patientIds) b.patientIds = f.patientIds.map((id) => (id % 1000) + k * 1000 + 1);
  if (f.expert) {
    const ff = f.expert.fourFindings;
    const af = f.expert.allFindings;
    b.expert = {
      ...(ff
        ? {
            fourFindings: Object.fromEntries(
              Object.entries(ff).map(([key, v]) => [
                key,
                key === 'set'
                  ? rot(FOUR_FINDINGS_SETS, v as string[])
                  : Array.isArray(v)
                    ? rot(FOUR_FINDINGS, v)
                    : flip(v),
              ]),
            ),
          }
        : {}),
      ...(af
        ? {
            allFindings: Object.fromEntries(
              Object.entries(af).map(([key, v]) => [
                key,
                Array.isArray(v)
                  ? rot(ALL_FINDINGS_LABELS, v)
                  : typeof v === 'object'
                    ? Object.fromEntries(Object.entries(v).map(([n, x]) => [n, !x]))
                    : !v,
              ]),
            ),
          }
        : {}),
      ...(f.expert.reader
        ? {
            reader: {
              id: `${k}${f.expert.reader.id}`.slice(0, 20),
              finding: rot(READER_LABELS, [f.expert.reader.finding])[0],
              value: rot(READER_VALUES, [f.expert.reader.value])[0],
            },
          }
        : {}),
    };
  }
  return CohortFilterSchema.parse(b);
}

function sqlTexts(f: CohortFilter, d: Dialect, after = '') {
  return [compileQuery(f, { after, limit: 11 }, d), compileSummary(f, d), compileExport(f, d)];
}

describe('injection attempts change only parameter values', () => {
  for (const [name, d] of DIALECTS) {
    it(`${name}: every string field carrying each attack leaves the SQL text identical`, () => {
      for (const [, f] of HAND_PICKED) {
        const clean = sqlTexts(f, d, '00000001_000');
        for (const attack of ATTACKS) {
          const dirty = sqlTexts(poison(f, attack), d, '00000002_000');
          dirty.forEach((q, i) => {
            assert.equal(q.sql, clean[i]!.sql);
            assert.deepEqual(Object.keys(q.params), Object.keys(clean[i]!.params));
          });
          const values = JSON.stringify(dirty[0]!.params);
          // Findings become bit masks (an unknown name sets no bit); enum lists carry the string itself.
          if (f.sex || f.view || f.split || f.expert?.reader) {
            assert.ok(values.includes(JSON.stringify(attack).slice(1, -1)));
          }
        }
      }
    });

    it(`${name}: random filters and same-shape variants with other values compile to the same SQL text`, () => {
      fc.assert(
        fc.property(filterArb([1, 2, 3, 4]), fc.integer({ min: 1, max: 13 }), (a, k) => {
          const b = sameShapeOtherValues(a, k);
          if (Object.keys(a).length > 0) assert.notDeepEqual(b, a, 'the variant differs in its values');
          assert.deepEqual(
            sqlTexts(b, d, '99999999_999').map((q) => q.sql),
            sqlTexts(a, d).map((q) => q.sql),
          );
        }),
        { numRuns: 300, seed: 99 },
      );
    });
  }

  it('DuckDB executes a poisoned filter as data: no rows match, and both tables are intact', async () => {
    const recs = handRecords(100);
    const store = await createDuckDbCohortStore({ tokens: createPageTokens('injection-test-secret') });
    try {
      await store.load(recs.map(toCohortRows));
      const before = await store.stats();
      for (const attack of ATTACKS) {
        const f = poison(
          CohortFilterSchema.parse({ sex: ['M'], view: ['PA'], findings: { any: ['Mass'] } }),
          attack,
        );
        assert.equal((await store.query(f, 10)).totalImages, 0);
        assert.equal((await store.summary(f)).totalImages, 0);
      }
      assert.deepEqual(await store.stats(), before);
    } finally {
      await store.close();
    }
  });

  it('the filter schema rejects each attack in every string field, naming the field', () => {
    const fields: [string, (s: string) => unknown][] = [
      ['findings.all[0]', (s) => ({ findings: { all: [s] } })],
      ['findings.any[0]', (s) => ({ findings: { any: [s] } })],
      ['findings.none[0]', (s) => ({ findings: { none: [s] } })],
      ['sex[0]', (s) => ({ sex: [s] })],
      ['view[0]', (s) => ({ view: [s] })],
      ['split[0]', (s) => ({ split: [s] })],
      ['patientIds[0]', (s) => ({ patientIds: [s] })],
      ['expert.fourFindings.set[0]', (s) => ({ expert: { fourFindings: { set: [s] } } })],
      ['expert.allFindings.findings', (s) => ({ expert: { allFindings: { findings: { [s]: true } } } })],
      ['(root)', (s) => ({ [s]: true })],
    ];
    for (const [path, make] of fields) {
      for (const attack of ATTACKS) {
        const r = CohortFilterSchema.safeParse(make(attack));
        assert.equal(r.success, false, `${path} accepted ${JSON.stringify(attack)}`);
        const paths = r.error!.issues.map((i) => i.path.join('.').replace(/\.(\d+)/g, '[$1]') || '(root)');
        assert.ok(paths.includes(path), `${path}: got ${paths.join(', ')}`);
      }
    }
  });
});
