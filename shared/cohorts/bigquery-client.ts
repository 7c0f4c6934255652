import { BigQuery } from '@google-cloud/bigquery';
import type { BigQueryServiceLike } from './bigquery-transport.ts';

export interface BigQueryClientOptions {
  /** Found from the environment (the runtime's project) when unset. */
  projectId?: string | undefined;
  location: string;
}

/**
 * The @google-cloud/bigquery client (auth, retries, user agent) that clientTransport wraps, and its project.
 * createCohortStore imports this module with import() when the store is BigQuery, so that the SDK is a chunk
 * of its own in the bundle.
 */
export async function createBigQueryClient(
  opts: BigQueryClientOptions,
): Promise<{ client: BigQueryServiceLike; projectId: string }> {
  const client = new BigQuery({
    ...(opts.projectId ? { projectId: opts.projectId } : {}),
    location: opts.location,
  });
  const projectId = opts.projectId ?? (await client.getProjectId());
  return { client: client as unknown as BigQueryServiceLike, projectId };
}
