/**
 * Every BigQuery SQL text the compiler produces, for the hand-picked filters and for random ones, is
 * analysed by Google's ZetaSQL (the GoogleSQL analyzer, local server started here) against the declared
 * BigQuery schema, with the expected output columns; broken SQL is rejected, so the check can fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CompiledSql,
  compileExport,
  compileQuery,
  compileSummary,
} from '../../shared/cohorts/compile.ts';
import { countRowsSql, truncateReaders, upsertStatements } from '../../shared/cohorts/compile-dml.ts';
import type { CohortFilter } from '../../shared/cohorts/filter.ts';
import {
  bigQueryTableSchema,
  COHORT_TABLES,
  IMAGES_TABLE,
  READERS_TABLE,
} from '../../shared/cohorts/schema.ts';
import { bigQueryDialect, duckDbDialect } from '../../shared/cohorts/sql-dialect.ts';
import { type OutputColumn, startZetaSql, type ZetaSqlServer } from '../harness/zetasql.ts';
import { filterArb, HAND_PICKED } from './filters.ts';

const PROJECT = 'nih-cxr-test';
const DATASET = 'cohorts';
const bq = bigQueryDialect({ project: PROJECT, dataset: DATASET });

/** BigQuery type names of the declared image columns, as ZetaSQL reports them. */
const COLUMN_TYPES = new Map(
  bigQueryTableSchema(IMAGES_TABLE).fields.map((f) => {
    const t = { STRING: 'STRING', INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' }[f.type];
    return [f.name, f.mode === 'REPEATED' ? `ARRAY<${t}>` : t];
  }),
);
const typed = (names: readonly string[], types: (n: string) => string): OutputColumn[] =>
  names.map((name) => ({ name, type: types(name) }));

function expectedColumns(kind: 'query' | 'summary' | 'export', q: CompiledSql): OutputColumn[] {
  if (kind === 'summary') return typed(q.columns, () => 'INT64');
  return typed(q.columns, (n) => (n.startsWith('total_') ? 'INT64' : COLUMN_TYPES.get(n)!));
}

function statements(f: CohortFilter) {
  return [
    ['query', compileQuery(f, { after: '00000001_000', limit: 101 }, bq)],
    ['summary', compileSummary(f, bq)],
    ['export', compileExport(f, bq)],
  ] as const;
}

describe('BigQuery SQL checked by the ZetaSQL analyzer', () => {
  let zs: ZetaSqlServer;
  before(async () => {
    const tables: { id: string; schema: ReturnType<typeof bigQueryTableSchema> }[] = COHORT_TABLES.map(
      (t) => ({
        id: t.id,
        schema: bigQueryTableSchema(t.id),
      }),
    );
    tables.push({ id: 'staging_images_0', schema: bigQueryTableSchema(IMAGES_TABLE) });
    tables.push({ id: 'staging_readers_0', schema: bigQueryTableSchema(READERS_TABLE) });
    zs = await startZetaSql({ project: PROJECT, dataset: DATASET, tables });
  });
  after(() => zs?.stop());

  for (const [label, f] of HAND_PICKED) {
    it(`${label}: query, summary and export SQL are valid GoogleSQL with the expected columns`, async () => {
      for (const [kind, q] of statements(f)) {
        assert.deepEqual(await zs.analyze(q.sql, q.params), expectedColumns(kind, q), `${kind} SQL`);
      }
    });
  }

  it('random filters (60): every SQL text is valid GoogleSQL with the expected columns', async () => {
    await fc.assert(
      fc.asyncProperty(filterArb([1, 2, 3, 30, 1000]), async (f) => {
        for (const [kind, q] of statements(f)) {
          assert.deepEqual(await zs.analyze(q.sql, q.params), expectedColumns(kind, q));
        }
      }),
      { numRuns: 60, seed: 4242 },
    );
  });

  it('the upsert, truncate and row-count statements are valid GoogleSQL', async () => {
    for (const sql of upsertStatements(bq, { images: 'staging_images_0', readers: 'staging_readers_0' })) {
      assert.deepEqual(await zs.analyze(sql, {}), [], sql.split('\n')[0]);
    }
    assert.deepEqual(await zs.analyze(truncateReaders(bq), {}), []);
    assert.deepEqual(await zs.analyze(countRowsSql(bq), {}), [
      { name: 'images', type: 'INT64' },
      { name: 'readers', type: 'INT64' },
    ]);
  });

  describe('rejects broken SQL (the check can fail)', () => {
    const f = HAND_PICKED.find(([n]) => n === 'kitchen sink')![1];
    const good = compileQuery(f, { after: '', limit: 10 }, bq);
    const cases: [string, () => { sql: string; params: CompiledSql['params'] }][] = [
      ['an unknown column', () => ({ ...good, sql: good.sql.replace('patient_sex', 'patient_gender') })],
      [
        'an unknown table',
        () => ({ ...good, sql: good.sql.replaceAll('`cohort_images`', '`cohort_imagez`') }),
      ],
      [
        'a parameter of the wrong type',
        () => ({ ...good, params: { ...good.params, sex: { type: 'ARRAY<INT64>', value: [1] } } }),
      ],
      [
        'an undeclared parameter',
        () => {
          const { ageMin: _dropped, ...rest } = good.params;
          return { ...good, params: rest };
        },
      ],
      [
        'a syntax error',
        () => ({ ...good, sql: good.sql.replace('ORDER BY page.image_key', 'ORDER page.image_key') }),
      ],
      [
        'the DuckDB dialect of the same filter',
        () => compileQuery(f, { after: '', limit: 10 }, duckDbDialect()),
      ],
      [
        'a non-boolean WHERE',
        () => ({
          ...good,
          sql: good.sql.replace('WHERE (findings_mask', 'WHERE findings_mask AND (findings_mask'),
        }),
      ],
    ];
    for (const [label, make] of cases) {
      it(label, async () => {
        const { sql, params } = make();
        assert.notEqual(
          sql + JSON.stringify(params),
          good.sql + JSON.stringify(good.params),
          'mutation applied',
        );
        await assert.rejects(zs.analyze(sql, params), /INVALID_ARGUMENT/);
      });
    }
  });
});
