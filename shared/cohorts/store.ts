import type { CohortFilter } from './filter.ts';
import type { PageTokens } from './page-token.ts';
import {
  type CohortExportRow,
  type CohortPage,
  type CohortSummary,
  decodeImage,
  type PlainRow,
} from './results.ts';
import type { CohortRows } from './rows.ts';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface LoadCounts {
  images: number;
  readers: number;
}

/**
 * The cohort tables behind one narrow interface; DuckDB in-process locally, BigQuery in the cloud.
 * Filters reaching a store are already validated (CohortFilterSchema).
 */
export interface CohortStore {
  readonly kind: 'duckdb' | 'bigquery';
  /** One page (ordered by imageId) and the cohort's totals. A bad pageToken throws a 400. */
  query(filter: CohortFilter, pageSize: number, pageToken?: string): Promise<CohortPage>;
  summary(filter: CohortFilter): Promise<CohortSummary>;
  /** Every matching image in imageId order, pulled lazily (memory stays flat); `return()` releases it. */
  export(filter: CohortFilter): AsyncIterable<CohortExportRow>;
  /** Replaces the whole content of both tables with these rows (bulk load; idempotent). */
  load(rows: Iterable<CohortRows> | AsyncIterable<CohortRows>): Promise<LoadCounts>;
  /** Inserts or replaces by image_id: the image row and all of that image's reader rows. */
  upsert(rows: Iterable<CohortRows> | AsyncIterable<CohortRows>): Promise<LoadCounts>;
  /** Row counts of both tables. */
  stats(): Promise<LoadCounts>;
  close(): Promise<void>;
}

/**
 * Turns the rows of compileQuery (run with limit pageSize + 1) into a page: the extra row only tells that
 * another page exists, and the token continues after the last image shown.
 */
export function toPage(
  rows: readonly PlainRow[],
  filter: CohortFilter,
  pageSize: number,
  tokens: PageTokens,
): CohortPage {
  const first = rows[0];
  const withImage = rows.filter((r) => r.image_id !== null && r.image_id !== undefined);
  const images = withImage.slice(0, pageSize).map(decodeImage);
  const last = images.at(-1);
  return {
    totalImages: Number(first?.total_images ?? 0),
    totalPatients: Number(first?.total_patients ?? 0),
    images,
    nextPageToken: withImage.length > pageSize && last ? tokens.issue(filter, last.imageId) : null,
  };
}

/** Where a page starts: after the token's image id, or before every id ('' sorts first). */
export function pageStart(filter: CohortFilter, tokens: PageTokens, pageToken?: string): string {
  return pageToken === undefined ? '' : tokens.read(filter, pageToken);
}
