import * as z from 'zod';
import {
  AgreementCompareSchema,
  AgreementFindingSchema,
  AgreementReferenceSchema,
  AgreementResultSchema,
  agreementProblem,
} from '../../shared/cohorts/agreement.ts';
import {
  OnePerPatientSchema,
  SampleSchema,
  SplitPartsSchema,
  SplitSpecSchema,
  STRATA,
} from '../../shared/cohorts/dataset-options.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { MAX_PAGE_TOKEN_LENGTH } from '../../shared/cohorts/page-token.ts';
import { CohortPageSchema, CohortSummarySchema } from '../../shared/cohorts/results.ts';
import { CohortSplitSchema } from '../../shared/cohorts/split-result.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../shared/cohorts/store.ts';
import { IMAGE_FORMATS } from '../../shared/model/gcs.ts';
import { DEFAULT_IAM_EXPORT_MAX_ROWS, DEFAULT_MAX_URL_SECONDS } from '../../shared/signing/config.ts';
import { MAX_EXPIRES_SECONDS } from '../../shared/signing/v4.ts';

const filter = CohortFilterSchema.default({});
/** Beside `filter` on :query, :summary and :export: what the cohort is made of, applied in this order. */
const shaping = { onePerPatient: OnePerPatientSchema.optional(), sample: SampleSchema.optional() };

export const QueryRequestSchema = z.strictObject({
  filter,
  ...shaping,
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

export const SummaryRequestSchema = z.strictObject({ filter, ...shaping });

export const SplitRequestSchema = z.lazy(() =>
  z.strictObject({
    filter,
    onePerPatient: OnePerPatientSchema.optional(),
    seed: SplitSpecSchema.shape.seed,
    parts: SplitPartsSchema,
    stratifyBy: SplitSpecSchema.shape.stratifyBy.describe(
      `Strata of the patients (${STRATA.join(', ')}), each patient by its first matching image.`,
    ),
  }),
);

export const ExportRequestSchema = z.lazy(() =>
  z
    .strictObject({
      filter,
      ...shaping,
      split: SplitSpecSchema.optional().describe(
        'Assign whole patients to named parts (as POST /v1/cohorts:split does) and add a `part` column to every row, in every format.',
      ),
      format: z
        .enum(['csv', 'ndjson', 'nih-csv', 'parquet'])
        .describe(
          'csv: `# ` attribution comment lines, then a header line and one line per image (findings joined by `|`), with both expert label sets as columns (empty where an image has none). ndjson: a first `{"attribution": {...}}` line, then one JSON object per image (fourFindings, allFindings: null where none). nih-csv: exactly the Data_Entry_2017_v2020.csv layout (the 2017 layout with METADATA_VERSION=2017), no URL and no label columns; the attribution is in the Link and X-Attribution headers. parquet: typed columns (findings as a list), one row group per 10,000 rows, the attribution in the key-value metadata.',
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
      dicomLinks: z
        .boolean()
        .default(false)
        .describe(
          'Add the `dicomweb` (WADO-RS URL of the instance in the DICOM store) and `viewer` (DICOM_VIEWER_URL filled in) columns, empty where an image has no DICOM identity yet; not with nih-csv.',
        ),
    })
    .refine((b) => !(b.format === 'nih-csv' && b.urls === 'signed'), {
      message:
        'format nih-csv carries no URL column (it is the NIH layout); use urls: "gs" or another format',
      path: ['urls'],
    })
    .refine((b) => !(b.format === 'nih-csv' && b.dicomLinks), {
      message: 'format nih-csv has exactly the NIH columns; dicomLinks needs csv, ndjson or parquet',
      path: ['dicomLinks'],
    }),
);

export const QueryResponseSchema = CohortPageSchema;
export const SplitResponseSchema = CohortSplitSchema;
export const SummaryResponseSchema = CohortSummarySchema;

export { ProblemSchema } from '../../shared/http/problem.ts';

export const AgreementRequestSchema = z.lazy(() =>
  z
    .strictObject({
      filter: CohortFilterSchema.default({}),
      finding: AgreementFindingSchema,
      reference: AgreementReferenceSchema,
      compare: AgreementCompareSchema,
    })
    .superRefine((b, ctx) => {
      // A finding outside the reference's labels, or compare "nih" on a label without an NIH counterpart.
      const problem = agreementProblem(b);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['finding'] });
    })
    .describe(
      'Agreement with the adjudicated expert label over the images of the cohort that carry it: of the NIH label (compare "nih"), or of each individual reader (compare "readers").',
    ),
);

export const AgreementResponseSchema = AgreementResultSchema;
