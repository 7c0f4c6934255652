import { mapBigQueryError } from './bigquery-errors.ts';
import { isAlreadyExists, type JobContext } from './bigquery-jobs.ts';
import { runQueryJob } from './bigquery-queries.ts';
import { stagingTable, type TableRef } from './bigquery-rest.ts';
import { type StageRows, stageRows } from './bigquery-stage.ts';
import { truncateReaders, upsertScript } from './compile-dml.ts';
import { bigQueryTableSchema, type CohortTableId, IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import type { Dialect } from './sql-dialect.ts';
import type { LoadCounts } from './store.ts';

/** What a load or upsert writes to: the cohort tables' dataset and the staging tables' one. */
export interface LoadContext {
  jobs: JobContext;
  dataset: string;
  dialect: Dialect;
  /** BQ_STAGING_DATASET: Terraform gives it a default table expiration, the cohort tables' dataset none. */
  stagingDataset: string;
  stagingDialect: Dialect;
  /** Staging tables expire this long after they were created, whatever becomes of the upsert. */
  stagingTtlMs: number;
}

const tableRef = (c: LoadContext, datasetId: string, tableId: string): TableRef => ({
  projectId: c.jobs.projectId,
  datasetId,
  tableId,
});

async function runScript(c: LoadContext, sql: string, operation: string): Promise<void> {
  await runQueryJob(c.jobs, sql, {}, operation, 1, c.jobs.loadDeadlineMs);
}

/** Creates an empty staging table with an expiration; a 409 (a retried insert) means it exists already. */
async function createStaging(c: LoadContext, id: CohortTableId, tableId: string): Promise<void> {
  const ref = tableRef(c, c.stagingDataset, tableId);
  const body = stagingTable(ref, bigQueryTableSchema(id), c.jobs.now() + c.stagingTtlMs);
  // tables.insert as Dataset.createTable sends it, through the transport seam that the tests replay.
  try {
    await c.jobs.transport.request({
      method: 'POST',
      path: `/datasets/${c.stagingDataset}/tables`,
      body,
      timeoutMs: 60_000,
    });
  } catch (err) {
    if (!isAlreadyExists(err)) throw mapBigQueryError(err);
  }
}

async function dropStaging(c: LoadContext, tableId: string): Promise<void> {
  await c.jobs.transport
    .request({
      method: 'DELETE',
      path: `/datasets/${c.stagingDataset}/tables/${tableId}`,
      timeoutMs: 60_000,
    })
    .catch(() => {}); // best effort: a missing staging table is fine
}

/** Replaces both cohort tables (load jobs with WRITE_TRUNCATE); no reader rows truncates the readers. */
export async function loadRows(c: LoadContext, rows: StageRows): Promise<LoadCounts> {
  const dest = {
    [IMAGES_TABLE]: tableRef(c, c.dataset, IMAGES_TABLE),
    [READERS_TABLE]: tableRef(c, c.dataset, READERS_TABLE),
  };
  const staged = await stageRows(c.jobs, rows, dest, 'load', false);
  if (!staged.readers) await runScript(c, truncateReaders(c.dialect), 'load');
  return staged.counts;
}

/** Loads the rows into two fresh staging tables, merges them in by image_id, and drops them. */
export async function upsertRows(c: LoadContext, rows: StageRows): Promise<LoadCounts> {
  const suffix = c.jobs.newRequestId().replaceAll('-', '');
  const names = { images: `staging_images_${suffix}`, readers: `staging_readers_${suffix}` };
  const dest = {
    [IMAGES_TABLE]: tableRef(c, c.stagingDataset, names.images),
    [READERS_TABLE]: tableRef(c, c.stagingDataset, names.readers),
  };
  try {
    await createStaging(c, IMAGES_TABLE, names.images);
    await createStaging(c, READERS_TABLE, names.readers);
    const staged = await stageRows(c.jobs, rows, dest, 'upsert', false);
    const script = upsertScript(
      c.dialect,
      { images: names.images, readers: staged.readers ? names.readers : null },
      c.stagingDialect,
    );
    await runScript(c, script, 'upsert');
    return staged.counts;
  } finally {
    for (const name of [names.images, names.readers]) await dropStaging(c, name);
  }
}
