import * as z from 'zod';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { MAX_PAGE_TOKEN_LENGTH } from '../../shared/cohorts/page-token.ts';
import { CohortPageSchema, CohortSummarySchema } from '../../shared/cohorts/results.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../shared/cohorts/store.ts';
import { IMAGE_FORMATS } from '../../shared/model/index.ts';
import { DEFAULT_IAM_EXPORT_MAX_ROWS, DEFAULT_MAX_URL_SECONDS } from '../../shared/signing/config.ts';
import { MAX_EXPIRES_SECONDS } from '../../shared/signing/v4.ts';

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
      `gs: gs:// URIs of the requester-pays bucket; signed: V4 signed HTTPS URLs (503 when signing is not configured). Signed exports use the HMAC key when one is configured; on the IAM signBlob path a cohort of more than SIGNED_EXPORT_IAM_MAX_ROWS images (default ${DEFAULT_IAM_EXPORT_MAX_ROWS}) is refused with a 422, so that the export ends inside the function's timeout: export it with urls: "gs", or configure HMAC.`,
    ),
  imageFormat: z.enum(IMAGE_FORMATS).default('png').describe('Which file each URL points at.'),
  expiresInSeconds: z
    .int('must be an integer')
    .min(1)
    .max(MAX_EXPIRES_SECONDS)
    .optional()
    .describe(
      `Lifetime of signed URLs (urls: "signed" only); default 3600, or the deployment's maximum (SIGNED_URL_MAX_SECONDS, default ${DEFAULT_MAX_URL_SECONDS}) when that is shorter. More than that maximum is a 400.`,
    ),
});

export const QueryResponseSchema = CohortPageSchema;
export const SummaryResponseSchema = CohortSummarySchema;

export { ProblemSchema } from '../../shared/http/problem.ts';
