/**
 * The BigQuery side of onePerPatient, sample and split, checked with Google's ZetaSQL (the local service of
 * @fivetrandevelopers/zetasql): every new SQL text is accepted by the analyzer with the expected columns, and
 * the reference evaluator, run on the same synthetic rows as DuckDB, draws the same images, the same parts,
 * and computes the same SHA-256 keys as DuckDB and node:crypto.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { ZetaSQLClient } from '@fivetrandevelopers/zetasql';
import { compileQuery, compileSummary } from '../../shared/cohorts/compile.ts';
import {
  compileDatasetExport,
  compileSplit,
  withCohortOptions,
} from '../../shared/cohorts/compile-cohort.ts';
import { type CohortOptions, type SplitSpec, STRATA } from '../../shared/cohorts/dataset-options.ts';
import { createDuckDbCohortStore, duckDbParams } from '../../shared/cohorts/duckdb-store.ts';
import { type CohortFilter, CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRow, toCohortRows } from '../../shared/cohorts/rows.ts';
import { bigQueryTableSchema, COHORT_TABLES, IMAGES_TABLE } from '../../shared/cohorts/schema.ts';
import { bigQueryDialect, duckDbDialect, type SqlParam } from '../../shared/cohorts/sql-dialect.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { fieldType, paramType, startZetaSql, type ZetaSqlServer } from '../harness/zetasql.ts';
import { expectedCohort, splitPatients } from './dataset-reference.ts';

const PROJECT = 'nih-cxr-test';
const DATASET = 'cohorts';
const bq = bigQueryDialect({ project: PROJECT, dataset: DATASET });
const duck = duckDbDialect();
const parse = (f: unknown): CohortFilter => CohortFilterSchema.parse(f);

type Proto = Record<string, unknown>;
type Rpc = (req: unknown, cb: (err: Error | null, res: unknown) => void) => void;
const rpc = <T>(method: string, req: unknown) =>
  new Promise<T>((resolve, reject) => {
    const fn = (ZetaSQLClient.API as unknown as Record<string, Rpc>)[method]!;
    fn.call(ZetaSQLClient.API, req, (err, res) => (err ? reject(err) : resolve(res as T)));
  });

function toValue(type: string, v: unknown): Proto {
  if (v === null || v === undefined) return {};
  if (Array.isArray(v)) return { arrayValue: { element: v.map((x) => toValue(type, x)) } };
  if (type === 'STRING') return { stringValue: String(v) };
  if (type === 'INTEGER' || type === 'INT64') return { int64Value: String(v) };
  if (type === 'FLOAT') return { doubleValue: Number(v) };
  return { boolValue: v === true };
}
type Out = { value?: string; int64Value?: { toString(): string }; stringValue?: string; boolValue?: boolean };
const fromValue = (v: Out): unknown =>
  v.value === 'int64Value'
    ? Number(v.int64Value!.toString())
    : v.value === 'stringValue'
      ? v.stringValue
      : v.value === 'boolValue'
        ? v.boolValue
        : null;

const OPTIONS: [string, CohortOptions][] = [
  ['onePerPatient first', { onePerPatient: 'firstFollowUp' }],
  ['onePerPatient last', { onePerPatient: 'lastFollowUp' }],
  ['sample', { sample: { size: 50, seed: 'zeta' } }],
  [
    'stratified sample',
    { sample: { size: 41, seed: 'zéta 🌱', stratifyBy: ['sex', 'ageBand', 'noFinding'] } },
  ],
  [
    'one per patient, sampled by every stratum',
    { onePerPatient: 'lastFollowUp', sample: { size: 37, seed: 's', stratifyBy: [...STRATA] } },
  ],
  ['split', { split: { seed: 'parts', parts: { a: 0.5, b: 0.3, c: 0.2 } } }],
  [
    'stratified split after onePerPatient',
    {
      onePerPatient: 'firstFollowUp',
      split: { seed: 'p2', parts: { train: 0.7, val: 0.15, test: 0.15 }, stratifyBy: ['sex', 'view'] },
    },
  ],
];
const FILTERS: CohortFilter[] = [
  parse({}),
  parse({ findings: { any: ['Effusion', 'Infiltration'] }, age: { min: 20 } }),
];

describe('dataset options on BigQuery: ZetaSQL analyzer and reference evaluator', () => {
  let zs: ZetaSqlServer;
  let languageOptions: unknown;
  let evalCatalog: unknown;
  let analyzeCatalog: unknown;
  let records: ImageRecord[];
  let store: CohortStore;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zetasql-dataset-'));
    await writeSyntheticDataset(dir, { images: 300, seed: 7 });
    records = (await loadDatasetDir(dir)).records;
    store = await createDuckDbCohortStore({ tokens: createPageTokens('zetasql-dataset-secret') });
    await store.load(records.map(toCohortRows));
    zs = await startZetaSql({
      project: PROJECT,
      dataset: DATASET,
      tables: COHORT_TABLES.map((t) => ({ id: t.id, schema: bigQueryTableSchema(t.id) })),
    });
    const current = await ZetaSQLClient.getInstance().getLanguageOptions({
      languageVersion: 'VERSION_CURRENT',
    });
    languageOptions = {
      productMode: 'PRODUCT_EXTERNAL',
      // BigQuery has window functions; ZetaSQL's language versions leave that feature to the product.
      enabledLanguageFeatures: [...(current?.enabledLanguageFeatures ?? []), 'FEATURE_ANALYTIC_FUNCTIONS'],
      supportedStatementKinds: ['RESOLVED_QUERY_STMT'],
    };
    // The evaluator reads tables at the root of a catalog with contents: the images, as BigQuery holds them.
    const fields = bigQueryTableSchema(IMAGES_TABLE).fields;
    const reg = await rpc<{ registeredId: unknown }>('registerCatalog', {
      simpleCatalog: {
        name: 'root',
        builtinFunctionOptions: { languageOptions },
        table: [
          { name: IMAGES_TABLE, column: fields.map((f) => ({ name: f.name, type: fieldType(f) })) },
          {
            name: 'cohort_readers',
            column: bigQueryTableSchema('cohort_readers').fields.map((f) => ({
              name: f.name,
              type: fieldType(f),
            })),
          },
        ],
      },
      tableContent: {
        [IMAGES_TABLE]: {
          tableData: {
            row: records.map((r) => {
              const row = toCohortRow(r) as Record<string, unknown>;
              return { cell: fields.map((f) => toValue(f.type, row[f.name])) };
            }),
          },
        },
        cohort_readers: { tableData: { row: [] } },
      },
    });
    evalCatalog = reg.registeredId;
    const nested = await rpc<{ registeredId: unknown }>('registerCatalog', {
      simpleCatalog: {
        name: 'root',
        builtinFunctionOptions: { languageOptions },
        catalog: [
          {
            name: PROJECT,
            catalog: [
              {
                name: DATASET,
                table: COHORT_TABLES.map((t) => ({
                  name: t.id,
                  column: bigQueryTableSchema(t.id).fields.map((f) => ({ name: f.name, type: fieldType(f) })),
                })),
              },
            ],
          },
        ],
      },
    });
    analyzeCatalog = nested.registeredId;
  });
  after(async () => {
    await store?.close();
    await zs?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const analyzerOptions = (params: Record<string, SqlParam>) => ({
    languageOptions,
    parameterMode: 'PARAMETER_NAMED',
    queryParameters: Object.entries(params).map(([name, p]) => ({ name, type: paramType(p.type) })),
  });
  const KIND: Record<number, string> = { 2: 'INT64', 5: 'BOOL', 7: 'FLOAT64', 8: 'STRING', 16: 'ARRAY' };

  /** Analyses a statement exactly as BigQuery gets it (project.dataset.table names): its output columns. */
  async function analyze(q: { sql: string; params: Record<string, SqlParam> }) {
    const r = await rpc<{
      resolvedStatement: {
        resolvedQueryStmtNode: {
          outputColumnList: { name: string; column: { type: { typeKind: number } } }[];
        };
      };
    }>('analyze', {
      registeredCatalogId: analyzeCatalog,
      sqlStatement: q.sql,
      options: analyzerOptions(q.params),
    });
    return r.resolvedStatement.resolvedQueryStmtNode.outputColumnList.map((c) => ({
      name: c.name,
      type: KIND[c.column.type.typeKind] ?? String(c.column.type.typeKind),
    }));
  }

  /** Runs a compiled BigQuery statement on the reference evaluator; rows keyed by column name. */
  async function evaluate(q: {
    sql: string;
    params: Record<string, SqlParam>;
  }): Promise<Record<string, unknown>[]> {
    const entries = Object.entries(q.params);
    const res = await rpc<{
      content: { tableData: { row: { cell: Out[] }[] } | null };
      prepared: { columns: { name: string }[] };
    }>('evaluateQuery', {
      sql: q.sql.replaceAll(`\`${PROJECT}\`.\`${DATASET}\`.`, ''),
      registeredCatalogId: evalCatalog,
      options: analyzerOptions(q.params),
      params: entries.map(([name, p]) => ({
        name,
        value: toValue(p.type.replace(/^ARRAY<(\w+)>$/, '$1'), p.value),
      })),
    });
    const names = res.prepared.columns.map((c) => c.name);
    return (res.content.tableData?.row ?? []).map((r) =>
      Object.fromEntries(r.cell.map((c, i) => [names[i]!, fromValue(c)])),
    );
  }

  for (const [label, o] of OPTIONS) {
    it(`${label}: query, summary, export and split SQL are valid GoogleSQL with the expected columns`, async () => {
      for (const f of FILTERS) {
        const page = withCohortOptions(compileQuery(f, { after: '', limit: 11 }, bq), f, o, bq);
        const cols = (await analyze(page)).map((c) => c.name);
        assert.deepEqual(cols, page.columns);
        const summary = withCohortOptions(compileSummary(f, bq), f, o, bq);
        assert.deepEqual(
          (await analyze(summary)).map((c) => c.name),
          summary.columns,
        );
        const exp = compileDatasetExport(f, o, bq);
        const typed = await analyze(exp);
        assert.deepEqual(
          typed.map((c) => c.name),
          exp.columns,
        );
        if (o.split) {
          assert.deepEqual(typed.at(-1), { name: 'part_index', type: 'INT64' });
          const s = compileSplit(f, o, bq);
          const sc = await analyze(s);
          assert.deepEqual(
            sc.map((c) => c.name),
            s.columns,
          );
          assert.ok(sc.every((c) => c.type === 'INT64'));
        }
      }
    });

    it(`${label}: Google's reference evaluator exports the same images${o.split ? ' and parts' : ''} as DuckDB and the reference`, async () => {
      for (const f of FILTERS) {
        const google = await evaluate(compileDatasetExport(f, o, bq));
        const duckRows = [];
        for await (const r of store.export(f, o)) duckRows.push(r);
        const want = expectedCohort(records, f, { onePerPatient: o.onePerPatient, sample: o.sample });
        assert.deepEqual(
          google.map((r) => r.image_id),
          want.map((r) => r.imageId),
        );
        assert.deepEqual(
          duckRows.map((r) => r.imageId),
          want.map((r) => r.imageId),
        );
        if (o.split) {
          const names = Object.keys(o.split.parts);
          const ref = splitPatients(want, o.split as SplitSpec);
          assert.deepEqual(
            google.map((r) => names[Number(r.part_index)]),
            want.map((r) => names[ref.get(r.patientId)!]),
          );
          assert.deepEqual(
            duckRows.map((r) => r.part),
            want.map((r) => names[ref.get(r.patientId)!]),
          );
        }
      }
    });
  }

  it('the sample and split keys are the same hex SHA-256 on ZetaSQL, DuckDB and node:crypto', async () => {
    const imageIds = records.slice(0, 200).map((r) => r.imageId as string);
    const patientIds = [...new Set(records.map((r) => r.patientId))].slice(0, 100);
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    try {
      for (const seed of ['42', 'séme 🌱', 'a'.repeat(128), ' ']) {
        const key = (d: typeof bq) => d.sha256Hex(`CONCAT(${d.param('seed')}, ':', image_id)`);
        const pkey = (d: typeof bq) =>
          d.sha256Hex(`CONCAT(${d.param('seed')}, ':', CAST(patient_id AS STRING))`);
        const params = {
          seed: { type: 'STRING', value: seed },
          ids: { type: 'ARRAY<STRING>', value: imageIds },
          pids: { type: 'ARRAY<INT64>', value: patientIds },
        } satisfies Record<string, SqlParam>;
        const google = await evaluate({
          sql: `SELECT image_id, ${key(bq)} AS k FROM UNNEST(@ids) AS image_id WITH OFFSET o ORDER BY o`,
          params: { seed: params.seed, ids: params.ids },
        });
        const googleP = await evaluate({
          sql: `SELECT patient_id, ${pkey(bq)} AS k FROM UNNEST(@pids) AS patient_id WITH OFFSET o ORDER BY o`,
          params: { seed: params.seed, pids: params.pids },
        });
        const run = async (sql: string, ps: Record<string, SqlParam>) => {
          const { values, types } = duckDbParams(ps);
          return (await c.runAndReadAll(sql, values, types)).getRowObjectsJS() as Record<string, unknown>[];
        };
        const duckK = await run(
          `SELECT image_id, ${key(duck)} AS k FROM (SELECT unnest($ids) AS image_id, generate_subscripts($ids, 1) AS o) ORDER BY o`,
          { seed: params.seed, ids: params.ids },
        );
        const duckP = await run(
          `SELECT patient_id, ${pkey(duck)} AS k FROM (SELECT unnest($pids) AS patient_id, generate_subscripts($pids, 1) AS o) ORDER BY o`,
          { seed: params.seed, pids: params.pids },
        );
        const node = imageIds.map((id) => createHash('sha256').update(`${seed}:${id}`).digest('hex'));
        const nodeP = patientIds.map((p) => createHash('sha256').update(`${seed}:${p}`).digest('hex'));
        assert.deepEqual(
          google.map((r) => r.k),
          node,
          `image keys, seed ${JSON.stringify(seed)}`,
        );
        assert.deepEqual(
          duckK.map((r) => r.k),
          node,
        );
        assert.deepEqual(
          googleP.map((r) => r.k),
          nodeP,
          `patient keys, seed ${JSON.stringify(seed)}`,
        );
        assert.deepEqual(
          duckP.map((r) => r.k),
          nodeP,
        );
      }
    } finally {
      c.closeSync();
      inst.closeSync();
    }
  });
});
