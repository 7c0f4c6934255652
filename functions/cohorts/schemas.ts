import * as z from 'zod';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { MAX_PAGE_TOKEN_LENGTH } from '../../shared/cohorts/page-token.ts';
import { CohortPageSchema, CohortSummarySchema } from '../../shared/cohorts/results.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../shared/cohorts/store.ts';
import { IMAGE_FORMATS } from '../../shared/model/index.ts';

const filter = CohortFilterSchema.default({});

export const QueryRequestSchema = z.strictObject({
  filter,
  pageSize: z
    .int('must be an integer')
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .describe(`Images per page, 1..${MAX_PAGE_SIZE}.`),
  pageToken: z
    .string()
    .min(1)
    .max(MAX_PAGE_TOKEN_LENGTH)
    .optional()
    .describe('nextPageToken of the previous page, sent with the same filter.'),
});

export const SummaryRequestSchema = z.strictObject({ filter });

export const ExportRequestSchema = z.strictObject({
  filter,
  format: z
    .enum(['csv', 'ndjson'])
    .describe(
      'csv: `# ` attribution comment lines, then a header line and one line per image (findings joined by `|`). ndjson: a first `{"attribution": {...}}` line, then one JSON object per image.',
    ),
  urls: z
    .enum(['gs', 'signed'])
    .default('gs')
    .describe(
      'gs: gs:// URIs of the requester-pays bucket; signed: V4 signed HTTPS URLs (503 when signing is not configured).',
    ),
  imageFormat: z.enum(IMAGE_FORMATS).default('png').describe('Which file each URL points at.'),
  expiresInSeconds: z
    .int('must be an integer')
    .min(1)
    .max(604_800)
    .default(3600)
    .describe('Lifetime of signed URLs (urls: "signed" only).'),
});

export const QueryResponseSchema = CohortPageSchema;
export const SummaryResponseSchema = CohortSummarySchema;

export { ProblemSchema } from '../../shared/http/problem.ts';
