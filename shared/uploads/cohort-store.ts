/**
 * The cohort store the upload function writes to, chosen by configuration (a thin factory over the
 * cohorts module's two adapters). Upload processing only upserts, so page tokens are never issued here.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { createBigQueryCohortStore } from '../cohorts/bigquery-store.ts';
import { type BigQueryServiceLike, clientTransport } from '../cohorts/bigquery-transport.ts';
import { createDuckDbCohortStore } from '../cohorts/duckdb-store.ts';
import { createPageTokens, DEV_PAGE_TOKEN_SECRET } from '../cohorts/page-token.ts';
import type { CohortStore } from '../cohorts/store.ts';
import type { UploadsConfig } from './config.ts';

export async function createCohortStoreFromConfig(c: UploadsConfig): Promise<CohortStore> {
  const tokens = createPageTokens(c.pageTokenSecret ?? DEV_PAGE_TOKEN_SECRET);
  if (c.cohortStore === 'duckdb') {
    return createDuckDbCohortStore({ tokens, ...(c.duckdbPath ? { path: c.duckdbPath } : {}) });
  }
  const client = new BigQuery(c.projectId ? { projectId: c.projectId } : {});
  const projectId = c.projectId ?? (await client.getProjectId());
  return createBigQueryCohortStore({
    transport: clientTransport(client as unknown as BigQueryServiceLike, projectId),
    tokens,
    projectId,
    dataset: c.bigQuery.dataset,
    location: c.bigQuery.location,
    maximumBytesBilled: c.bigQuery.maximumBytesBilled,
  });
}
