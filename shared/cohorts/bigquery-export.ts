import type { JobContext } from './bigquery-jobs.ts';
import { queryResults, runQueryJob } from './bigquery-queries.ts';
import { decodeRows, type QueryResultsResponse } from './bigquery-rest.ts';
import type { CompiledSql } from './compile.ts';
import { type CohortExportRow, decodeExportRow } from './results.ts';

/**
 * The rows of an export query, pulled one getQueryResults page of `pageRows` at a time when iterated:
 * the memory bound of an export. The job starts at the first `next()`.
 */
export function exportPages(
  c: JobContext,
  q: CompiledSql,
  partNames: readonly string[] | undefined,
  pageRows: number,
): AsyncIterable<CohortExportRow> {
  return {
    async *[Symbol.asyncIterator]() {
      const first = await runQueryJob(c, q.sql, q.params, 'export', pageRows);
      let res: QueryResultsResponse = first.res;
      for (;;) {
        for (const row of decodeRows(res)) yield decodeExportRow(row, partNames);
        if (!res.pageToken) return;
        res = await queryResults(
          c,
          first.jobId,
          { maxResults: String(pageRows), pageToken: res.pageToken },
          Math.min(c.pollTimeoutMs, c.deadlineMs),
        );
      }
    },
  };
}
