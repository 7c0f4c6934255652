/**
 * The BigQuery text of every agreement statement (each valid finding x reference x compare, with plain and
 * reader-level filters) is analysed by Google's ZetaSQL against the declared schema, with the expected
 * output columns and types; so are the summary's reader counts through compileSummary (zetasql.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AgreementQuery, agreementProblem, compileAgreement } from '../../shared/cohorts/agreement.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { READER_LABELS } from '../../shared/cohorts/reader-labels.ts';
import { bigQueryTableSchema, COHORT_TABLES } from '../../shared/cohorts/schema.ts';
import { bigQueryDialect, duckDbDialect } from '../../shared/cohorts/sql-dialect.ts';
import { startZetaSql, type ZetaSqlServer } from '../harness/zetasql.ts';

const bq = bigQueryDialect({ project: 'nih-cxr-test', dataset: 'cohorts' });
const FILTERS = [
  {},
  { sex: ['F'], expert: { fourFindings: { disputed: ['pneumothorax'], hedged: ['noduleOrMass'] } } },
  {
    findings: { any: ['Mass'] },
    expert: {
      allFindings: { disputed: ['abnormal', 'Pleural_Thickening'] },
      reader: { id: '4343882583', finding: 'abnormal', value: 'YES' },
    },
  },
].map((f) => CohortFilterSchema.parse(f));

const NIH_COLUMNS = ['cohort_images', 'tp', 'fp', 'fn', 'tn'].map((name) => ({ name, type: 'INT64' }));
const READER_COLUMNS = [
  ['cohort_images', 'INT64'],
  ['fleiss_images', 'INT64'],
  ['fleiss_agreement', 'FLOAT64'],
  ['fleiss_yes', 'INT64'],
  ['fleiss_no', 'INT64'],
  ['fleiss_hedge', 'INT64'],
  ['reader_id', 'STRING'],
  ['reads', 'INT64'],
  ['tp', 'INT64'],
  ['fp', 'INT64'],
  ['fn', 'INT64'],
  ['tn', 'INT64'],
  ['hedged', 'INT64'],
].map(([name, type]) => ({ name: name!, type: type! }));

/** Every answerable request shape: 4 four-findings labels and 16 all-findings ones, by compare. */
const QUERIES: Omit<AgreementQuery, 'filter'>[] = READER_LABELS.flatMap((finding) =>
  (['fourFindings', 'allFindings'] as const).flatMap((reference) =>
    (['nih', 'readers'] as const).map((compare) => ({ finding, reference, compare })),
  ),
).filter((q) => agreementProblem(q) === null);

describe('agreement SQL checked by the ZetaSQL analyzer', () => {
  let zs: ZetaSqlServer;
  before(async () => {
    zs = await startZetaSql({
      project: 'nih-cxr-test',
      dataset: 'cohorts',
      tables: COHORT_TABLES.map((t) => ({ id: t.id, schema: bigQueryTableSchema(t.id) })),
    });
  });
  after(() => zs?.stop());

  it('the request shapes: 2 NIH comparisons of four findings, 15 of all findings, 20 reader comparisons', () => {
    assert.equal(QUERIES.filter((q) => q.compare === 'nih').length, 2 + 15);
    assert.equal(QUERIES.filter((q) => q.compare === 'readers').length, 4 + 16);
  });

  it('every request shape and filter is valid GoogleSQL with the expected columns', async () => {
    for (const q of QUERIES) {
      for (const filter of FILTERS) {
        const c = compileAgreement({ ...q, filter }, bq);
        const want = q.compare === 'nih' ? NIH_COLUMNS : READER_COLUMNS;
        assert.deepEqual(await zs.analyze(c.sql, c.params), want, `${q.compare} ${q.reference} ${q.finding}`);
        assert.deepEqual(
          c.columns,
          want.map((x) => x.name),
        );
      }
    }
  });

  it('rejects the DuckDB text of the same statement (the check can fail)', async () => {
    const q = {
      finding: 'abnormal',
      reference: 'allFindings',
      compare: 'readers',
      filter: FILTERS[2]!,
    } as const;
    const c = compileAgreement(q, duckDbDialect());
    await assert.rejects(zs.analyze(c.sql, c.params), /INVALID_ARGUMENT/);
  });

  it('refuses to compile a request without an NIH counterpart', () => {
    assert.throws(
      () =>
        compileAgreement({ finding: 'fracture', reference: 'fourFindings', compare: 'nih', filter: {} }, bq),
      /no NIH counterpart/,
    );
  });
});
