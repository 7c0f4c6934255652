import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from '@google-cloud/functions-framework';
import type { CohortOptions } from '../../shared/cohorts/dataset-options.ts';
import type { NihCsvLayout } from '../../shared/cohorts/export-nih-csv.ts';
import {
  assertSignedExportFits,
  EXPORT_CONTENT_TYPES,
  EXPORT_EXTENSIONS,
  type ExportFormat,
  exportChunks,
} from '../../shared/cohorts/export-writer.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { DEFAULT_VIEWER_URL } from '../../shared/dicom/config.ts';
import type { LinkConfig } from '../../shared/dicom/links.ts';
import { AppError, ServiceUnavailableError } from '../../shared/http/errors.ts';
import { problemResponse } from '../../shared/http/problem.ts';
import type { Route, RouteSpec } from '../../shared/http/router.ts';
import { jsonBody, parseInput } from '../../shared/http/validate.ts';
import { logger as defaultLogger, type Logger } from '../../shared/log.ts';
import { attributionLines } from '../../shared/model/attribution.ts';
import { DEFAULT_IAM_EXPORT_MAX_ROWS, DEFAULT_MAX_URL_SECONDS } from '../../shared/signing/config.ts';
import type { SigningLimits } from '../../shared/signing/create-signer.ts';
import { urlLifetime } from '../../shared/signing/lifetime.ts';
import type { SignerKind, UrlSigner } from '../../shared/signing/url-signer.ts';
import { agreementRoute } from './agreement-route.ts';
import {
  ExportRequestSchema,
  QueryRequestSchema,
  QueryResponseSchema,
  SplitRequestSchema,
  SplitResponseSchema,
  SummaryRequestSchema,
  SummaryResponseSchema,
} from './schemas.ts';

export interface CohortsDeps {
  /** The store, or a function resolving it (created lazily once; a rejection is a 503 and is retried). */
  store: CohortStore | (() => Promise<CohortStore>);
  /** Needed for exports with `urls: "signed"`; without it they answer 503 (createExportSigner builds it). */
  signer?: UrlSigner | undefined;
  /** Which signer that is: on the IAM path a signed export is capped (limits.iamExportMaxRows). */
  signerKind?: SignerKind | undefined;
  /** From the signer configuration; default: DEFAULT_MAX_URL_SECONDS and DEFAULT_IAM_EXPORT_MAX_ROWS. */
  limits?: SigningLimits;
  logger?: Logger;
  /** Called when the store fails after opening, so a cached store can be dropped and reopened. */
  onStoreFailure?: (err: unknown) => void;
  /** Layout of `format: "nih-csv"`: the metadata file the deployment serves (METADATA_VERSION); default v2020. */
  nihCsvLayout?: NihCsvLayout;
  /** DICOMweb base and viewer template of the export's `dicomLinks` columns. */
  dicomLinks?: LinkConfig;
}

/** The options beside the filter that shape the cohort, as the store takes them. */
const shapingOf = (b: {
  onePerPatient?: CohortOptions['onePerPatient'];
  sample?: CohortOptions['sample'];
}) => ({
  onePerPatient: b.onePerPatient,
  sample: b.sample,
});

/** Runs a store call: a store that cannot open or fails after it opened is a 503 the caller may retry. */
type Guarded = <T>(work: (s: CohortStore) => Promise<T>) => Promise<T>;

function storeGuard(deps: CohortsDeps): Guarded {
  const store = async (): Promise<CohortStore> => {
    if (typeof deps.store !== 'function') return deps.store;
    try {
      return await deps.store();
    } catch (err) {
      throw new ServiceUnavailableError('The cohort store is not ready; retry shortly.', { cause: err });
    }
  };
  /**
   * A store that fails after it opened (connection lost, engine closed, BigQuery down) is a 503 the caller
   * may retry, not a 500; the store factory is told so it can reopen. Caller mistakes stay AppErrors.
   */
  return async (work) => {
    const s = await store();
    try {
      return await work(s);
    } catch (err) {
      if (err instanceof AppError) throw err;
      deps.onStoreFailure?.(err);
      throw new ServiceUnavailableError('The cohort store failed; retry shortly.', { cause: err });
    }
  };
}

function queryRoute(guarded: Guarded): Route {
  return {
    method: 'POST',
    path: '/v1/cohorts:query',
    spec: {
      operationId: 'queryCohort',
      summary: 'One page of the images matching a filter (ordered by imageId), with the cohort totals',
      body: QueryRequestSchema,
      responses: {
        200: { description: 'A page of the cohort', schema: QueryResponseSchema },
        400: problemResponse('Malformed filter, pageSize or pageToken (errors name the field)'),
        503: problemResponse('The cohort store is unavailable; see Retry-After'),
      },
    },
    handler: async (req) => {
      const b = parseInput(QueryRequestSchema, jsonBody(req), 'body');
      const page = await guarded((st) => st.query(b.filter, b.pageSize, b.pageToken, shapingOf(b)));
      return { body: page };
    },
  };
}

function summaryRoute(guarded: Guarded): Route {
  return {
    method: 'POST',
    path: '/v1/cohorts:summary',
    spec: {
      operationId: 'summarizeCohort',
      summary: 'Counts of the images matching a filter: findings, sex, view, split, 10-year age bins',
      body: SummaryRequestSchema,
      responses: {
        200: { description: 'The cohort summary', schema: SummaryResponseSchema },
        400: problemResponse('Malformed filter (errors name the field)'),
        503: problemResponse('The cohort store is unavailable; see Retry-After'),
      },
    },
    handler: async (req) => {
      const b = parseInput(SummaryRequestSchema, jsonBody(req), 'body');
      return { body: await guarded((st) => st.summary(b.filter, shapingOf(b))) };
    },
  };
}

function splitRoute(guarded: Guarded): Route {
  return {
    method: 'POST',
    path: '/v1/cohorts:split',
    spec: {
      operationId: 'splitCohort',
      summary:
        "Seeded patient-disjoint parts of a cohort (2-10, fractions summing to 1): each part's images, patients and finding counts",
      body: SplitRequestSchema,
      responses: {
        200: { description: 'The parts, in the order the request named them', schema: SplitResponseSchema },
        400: problemResponse('Malformed filter, parts, seed or stratifyBy (errors name the field)'),
        503: problemResponse('The cohort store is unavailable; see Retry-After'),
      },
    },
    handler: async (req) => {
      const b = parseInput(SplitRequestSchema, jsonBody(req), 'body');
      const split = { seed: b.seed, parts: b.parts, stratifyBy: b.stratifyBy };
      return { body: await guarded((st) => st.split(b.filter, { onePerPatient: b.onePerPatient, split })) };
    },
  };
}

const EXPORT_SPEC: RouteSpec = {
  operationId: 'exportCohort',
  summary:
    'Streamed manifest of every matching image with its URL and the attribution (CSV with # comment lines, or NDJSON with a first attribution line)',
  body: ExportRequestSchema,
  responses: {
    200: {
      description:
        'text/csv (format csv) or application/x-ndjson (format ndjson), streamed; memory stays flat in the cohort size',
      contentType: 'text/csv',
    },
    400: problemResponse(
      'Malformed filter or options, or expiresInSeconds past SIGNED_URL_MAX_SECONDS (errors name the field)',
    ),
    422: problemResponse(
      'urls: "signed" on the IAM signBlob path for a cohort over SIGNED_EXPORT_IAM_MAX_ROWS images: use urls: "gs" or HMAC signing',
    ),
    503: problemResponse('Cohort store unavailable, or urls: "signed" without signing configured'),
  },
};

type Chunks = ReturnType<typeof exportChunks>;

/** Streams a manifest whose first chunk was pulled before any header went out. */
async function streamManifest(
  res: Response,
  o: { chunks: Chunks; first: Awaited<ReturnType<Chunks['next']>>; format: ExportFormat; log: Logger },
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', EXPORT_CONTENT_TYPES[o.format]);
  res.setHeader(
    'Content-Disposition',
    `attachment; filename="nih-cxr-cohort.${EXPORT_EXTENSIONS[o.format]}"`,
  );
  // nih-csv has no room for comment lines: the attribution travels in a header (the Link header is on every
  // response already), so that loaders read the file unchanged.
  res.setHeader('X-Attribution', attributionLines('').join(' '));
  const exposed = res.getHeader('Access-Control-Expose-Headers');
  if (exposed) res.setHeader('Access-Control-Expose-Headers', `${exposed}, Link, X-Attribution`);
  res.setHeader('Cache-Control', 'no-store');
  async function* all() {
    if (!o.first.done) yield o.first.value;
    yield* o.chunks;
  }
  try {
    // pipeline: backpressure from the socket, and a client that goes away stops the query.
    await pipeline(Readable.from(all(), { objectMode: false }), res);
  } catch (err) {
    o.log.warn('cohort export stopped', { err, format: o.format });
    res.destroy();
  }
}

function exportRoute(deps: CohortsDeps, guarded: Guarded, limits: SigningLimits, log: Logger): Route {
  return {
    method: 'POST',
    path: '/v1/cohorts:export',
    spec: EXPORT_SPEC,
    handler: async (req) => {
      const b = parseInput(ExportRequestSchema, jsonBody(req), 'body');
      const signed = b.urls === 'signed';
      const expiresInSeconds = signed
        ? urlLifetime(b.expiresInSeconds, limits.maxExpiresInSeconds, 'body.expiresInSeconds')
        : 0;
      if (signed && !deps.signer) {
        throw new ServiceUnavailableError(
          'Signed URLs are not configured on this deployment; export with urls: "gs", or configure URL signing.',
        );
      }
      if (signed && deps.signerKind === 'iam') {
        // Decided before streaming starts, from the cohort's total: a 422 now, not a cut-off manifest later.
        const { totalImages } = await guarded((st) => st.query(b.filter, 1, undefined, shapingOf(b)));
        assertSignedExportFits(totalImages, deps.signerKind, limits.iamExportMaxRows);
      }
      // Pull the first chunk before any header goes out: a store failure is still a problem+json.
      const { chunks, first } = await guarded(async (st) => {
        const options = { ...shapingOf(b), split: b.split };
        const chunks = exportChunks(st.export(b.filter, options), {
          ...b,
          expiresInSeconds,
          signer: deps.signer,
          nihLayout: deps.nihCsvLayout,
          part: b.split !== undefined,
          dicomLinks: b.dicomLinks
            ? (deps.dicomLinks ?? { base: undefined, viewerUrl: DEFAULT_VIEWER_URL })
            : undefined,
        });
        return { chunks, first: await chunks.next() };
      });
      return { write: (res) => streamManifest(res, { chunks, first, format: b.format, log }) };
    },
  };
}

/** The routes of the cohorts function: POST /v1/cohorts:query, :summary and :export. */
export function createCohortsRoutes(deps: CohortsDeps): Route[] {
  const log = deps.logger ?? defaultLogger;
  const limits = deps.limits ?? {
    maxExpiresInSeconds: DEFAULT_MAX_URL_SECONDS,
    iamExportMaxRows: DEFAULT_IAM_EXPORT_MAX_ROWS,
  };
  const guarded = storeGuard(deps);
  return [
    queryRoute(guarded),
    summaryRoute(guarded),
    splitRoute(guarded),
    agreementRoute(guarded),
    exportRoute(deps, guarded, limits, log),
  ];
}
