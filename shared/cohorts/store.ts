import type { AgreementQuery, AgreementResult } from './agreement.ts';
import { type CohortOptions, hasOptions, optionsHash, type SplitSpec } from './dataset-options.ts';
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
import type { CohortSplit } from './split-result.ts';

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
  /**
   * One page (ordered by imageId) and the cohort's totals. A bad pageToken throws a 400. `options`
   * (onePerPatient, sample) shape the cohort before paging; the token is bound to them.
   */
  query(
    filter: CohortFilter,
    pageSize: number,
    pageToken?: string,
    options?: CohortOptions,
  ): Promise<CohortPage>;
  summary(filter: CohortFilter, options?: CohortOptions): Promise<CohortSummary>;
  /**
   * Every image of the cohort in imageId order, with both expert label sets and the NIH fields, pulled
   * lazily (memory stays flat); `return()` releases it. With `options.split` each row carries its part.
   */
  export(filter: CohortFilter, options?: CohortOptions): AsyncIterable<CohortExportRow>;
  /** Patient-disjoint parts of the cohort (after onePerPatient): each part's images, patients and findings. */
  split(filter: CohortFilter, options: CohortOptions & { split: SplitSpec }): Promise<CohortSplit>;
  /** Agreement of the NIH labels or of each reader with the adjudicated expert label, counted in SQL. */
  agreement(q: AgreementQuery): Promise<AgreementResult>;
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
  options?: CohortOptions,
): CohortPage {
  const first = rows[0];
  const withImage = rows.filter((r) => r.image_id !== null && r.image_id !== undefined);
  const images = withImage.slice(0, pageSize).map(decodeImage);
  const last = images.at(-1);
  return {
    totalImages: Number(first?.total_images ?? 0),
    totalPatients: Number(first?.total_patients ?? 0),
    images,
    nextPageToken:
      withImage.length > pageSize && last ? tokens.issue(filter, last.imageId, scopeOf(options)) : null,
  };
}

/** Where a page starts: after the token's image id, or before every id ('' sorts first). */
export function pageStart(
  filter: CohortFilter,
  tokens: PageTokens,
  pageToken?: string,
  options?: CohortOptions,
): string {
  return pageToken === undefined ? '' : tokens.read(filter, pageToken, 'body.pageToken', scopeOf(options));
}

/** What binds a page token beyond the filter: the options that shape the cohort (none: the filter alone). */
function scopeOf(o: CohortOptions | undefined): string | undefined {
  return hasOptions(o) ? optionsHash({ onePerPatient: o.onePerPatient, sample: o.sample }) : undefined;
}
