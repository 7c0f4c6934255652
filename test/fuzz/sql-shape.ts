/**
 * The SQL invariant: for a filter the API accepted, the statement text (both dialects, all three statements)
 * equals the text compiled for a canonical filter of the same shape, i.e. the same parts present with fixed
 * values. So nothing a caller sends reaches the SQL text; values travel only as named parameters.
 */
import assert from 'node:assert/strict';
import { compileExport, compileQuery, compileSummary } from '../../shared/cohorts/compile.ts';
import { type CohortFilter, CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { bigQueryDialect, type Dialect, duckDbDialect } from '../../shared/cohorts/sql-dialect.ts';

const DIALECTS: Dialect[] = [
  bigQueryDialect({ project: 'nih-cxr-fuzz', dataset: 'cohorts' }),
  duckDbDialect(),
];

const some = <T>(v: T | undefined, canonical: T): T | undefined => (v === undefined ? undefined : canonical);

/** The same parts as `f`, each with one fixed value. */
export function canonicalShape(f: CohortFilter): CohortFilter {
  const ff = f.expert?.fourFindings;
  const af = f.expert?.allFindings;
  const shape = {
    findings: f.findings && {
      all: some(f.findings.all, ['Atelectasis']),
      any: some(f.findings.any, ['Atelectasis']),
      none: some(f.findings.none, ['Atelectasis']),
    },
    noFinding: some(f.noFinding, true),
    age: f.age && { min: some(f.age.min, 0), max: some(f.age.max, 120) },
    sex: some(f.sex, ['M']),
    view: some(f.view, ['PA']),
    split: some(f.split, ['test']),
    patientIds: some(f.patientIds, [1]),
    hasBoundingBox: some(f.hasBoundingBox, true),
    expert: f.expert && {
      fourFindings: ff && {
        fracture: some(ff.fracture, true),
        pneumothorax: some(ff.pneumothorax, true),
        airspaceOpacity: some(ff.airspaceOpacity, true),
        noduleOrMass: some(ff.noduleOrMass, true),
        set: some(ff.set, ['test']),
        disputed: some(ff.disputed, ['fracture']),
        hedged: some(ff.hedged, ['fracture']),
      },
      allFindings: af && {
        abnormal: some(af.abnormal, true),
        other: some(af.other, true),
        findings: some(af.findings, {}),
        disputed: some(af.disputed, ['abnormal']),
      },
      reader: some(f.expert.reader, { id: '1', finding: 'abnormal', value: 'YES' }),
    },
  };
  return CohortFilterSchema.parse(JSON.parse(JSON.stringify(shape)));
}

function texts(f: CohortFilter, d: Dialect) {
  return [
    compileQuery(f, { after: '00000001_000', limit: 101 }, d),
    compileSummary(f, d),
    compileExport(f, d),
  ];
}

let filtersChecked = 0;
/** How many filters that reached the store were checked (reported with the fuzz figures). */
export const sqlShapesChecked = () => filtersChecked;

/** Asserts the invariant for one filter that reached the store; returns how many statements were compared. */
export function assertSqlShape(f: CohortFilter): number {
  filtersChecked++;
  assert.ok(CohortFilterSchema.safeParse(f).success, 'only a validated filter reaches the store');
  const canonical = canonicalShape(f);
  let n = 0;
  for (const d of DIALECTS) {
    const got = texts(f, d);
    const want = texts(canonical, d);
    got.forEach((q, i) => {
      assert.equal(q.sql, want[i]!.sql, `SQL text differs from the same-shape filter: ${JSON.stringify(f)}`);
      assert.deepEqual(Object.keys(q.params).sort(), Object.keys(want[i]!.params).sort());
      n++;
    });
  }
  return n;
}
