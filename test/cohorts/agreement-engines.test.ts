/**
 * The same agreement statistics on both engines: every request shape is answered by the BigQuery store,
 * its SQL EXECUTED by Google's ZetaSQL reference evaluator (the BigQuery REST stand-in of
 * test/harness/zetasql-bigquery.ts), and by the DuckDB store, on the same slice of expert-labelled images
 * with their reads (NIH_DATA_DIR when set, else the synthetic set). The answers must be equal (floating
 * sums to 1e-9), and non-trivial.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AgreementQuery,
  type AgreementResult,
  agreementProblem,
} from '../../shared/cohorts/agreement.ts';
import { createBigQueryCohortStore } from '../../shared/cohorts/bigquery-store.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { READER_LABELS } from '../../shared/cohorts/reader-labels.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { startZetaSqlBigQuery, type ZetaSqlBigQuery } from '../harness/zetasql-bigquery.ts';
import { loadTestDataset } from './dataset.ts';

/** Labelled images in the slice (the reference evaluator is slow per reader row), and unlabelled ones. */
const FOUR_IMAGES = 40;
const ALL_IMAGES = 15;
const OTHERS = 20;
const tokens = createPageTokens('agreement-engines-secret-0123456789');

const FILTERS = [
  {},
  { sex: ['F'] },
  { expert: { fourFindings: { disputed: ['pneumothorax', 'noduleOrMass'] } } },
  { expert: { allFindings: { disputed: ['abnormal'] } } },
].map((f) => CohortFilterSchema.parse(f));

/** Every answerable shape once, on a filter chosen by position, so that all four filters occur. */
const QUERIES: AgreementQuery[] = READER_LABELS.flatMap((finding) =>
  (['fourFindings', 'allFindings'] as const).flatMap((reference) =>
    (['nih', 'readers'] as const).map((compare) => ({ finding, reference, compare })),
  ),
)
  .filter((q) => agreementProblem(q) === null)
  .map((q, i) => ({ ...q, filter: FILTERS[i % FILTERS.length]! }));

/** Floats rounded (the two engines may sum in a different order); everything else as is. */
const rounded = (a: AgreementResult): unknown =>
  JSON.parse(JSON.stringify(a), (_k, v) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v));

describe('agreement: the same answers on BigQuery (ZetaSQL evaluator) and DuckDB', () => {
  let bq: ZetaSqlBigQuery;
  let bqStore: CohortStore;
  let duck: CohortStore;

  before(async () => {
    const { records } = await loadTestDataset();
    const four = records.filter((r) => r.expert.fourFindings && !r.expert.allFindings).slice(0, FOUR_IMAGES);
    const all = records.filter((r) => r.expert.allFindings).slice(0, ALL_IMAGES);
    const others = records.filter((r) => !r.expert.fourFindings && !r.expert.allFindings).slice(0, OTHERS);
    const slice = [...four, ...all, ...others].sort((a, b) => (a.imageId < b.imageId ? -1 : 1));
    bq = await startZetaSqlBigQuery({ project: 'nih-cxr-test', dataset: 'cohorts' });
    bqStore = createBigQueryCohortStore({
      transport: bq.transport,
      tokens,
      projectId: 'nih-cxr-test',
      dataset: 'cohorts',
      location: 'US',
      maximumBytesBilled: 1 << 30,
      loadPollMs: 0,
    });
    duck = await createDuckDbCohortStore({ tokens, threads: 1 });
    const rows = slice.map(toCohortRows);
    assert.deepEqual(await bqStore.load(rows), await duck.load(rows));
  });
  after(async () => {
    await duck?.close();
    await bq?.stop();
  });

  it(`${QUERIES.length} request shapes (NIH and readers, four and all findings, plain and reader-level filters)`, async () => {
    let readersCompared = 0;
    let nonEmpty = 0;
    for (const q of QUERIES) {
      const [b, d] = [await bqStore.agreement(q), await duck.agreement(q)];
      assert.deepEqual(
        rounded(b),
        rounded(d),
        `${q.compare} ${q.reference} ${q.finding} ${JSON.stringify(q.filter)}`,
      );
      if (d.images > 0) nonEmpty++;
      if (d.compare === 'readers') readersCompared += d.readers.length;
    }
    assert.ok(nonEmpty >= QUERIES.length / 2, `${nonEmpty} of ${QUERIES.length} answers counted some images`);
    assert.ok(readersCompared > 20, `${readersCompared} reader entries compared`);
  });

  it('the summary counts of disputed and hedged images are equal too', async () => {
    for (const f of FILTERS) {
      const [b, d] = [await bqStore.summary(f), await duck.summary(f)];
      assert.deepEqual(b.expert, d.expert, JSON.stringify(f));
    }
    const s = await duck.summary({});
    assert.ok(
      s.expert.fourFindings.disputed.airspaceOpacity > 0 && s.expert.allFindings.disputed.abnormal > 0,
    );
  });
});
