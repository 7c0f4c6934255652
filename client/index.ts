/**
 * A small typed client for the nih-cxr HTTP API. Its types are the zod schemas that the functions validate
 * with (z.input for requests, z.output for responses), so client and server cannot drift apart silently.
 */
import type * as z from 'zod';
import type {
  AgreementRequestSchema,
  AgreementResponseSchema,
  ExportRequestSchema,
  QueryRequestSchema,
  QueryResponseSchema,
  SplitRequestSchema,
  SplitResponseSchema,
  SummaryRequestSchema,
  SummaryResponseSchema,
} from '../functions/cohorts/schemas.ts';
import type {
  BatchGetBodySchema,
  BatchGetResponseSchema,
  ImageResponseSchema,
  PatientImagesResponseSchema,
} from '../functions/labels/schemas.ts';
import type { SignUrlsBodySchema, SignUrlsResponseSchema } from '../functions/signer/schemas.ts';
import type { AttributionSchema, HealthSchema } from '../shared/http/meta-schemas.ts';
import type { Problem } from '../shared/http/problem.ts';

export type ImageRecord = z.output<typeof ImageResponseSchema>;
export type BatchGetRequest = z.input<typeof BatchGetBodySchema>;
export type BatchGetResponse = z.output<typeof BatchGetResponseSchema>;
export type PatientImagesResponse = z.output<typeof PatientImagesResponseSchema>;
export type SignUrlsRequest = z.input<typeof SignUrlsBodySchema>;
export type SignUrlsResponse = z.output<typeof SignUrlsResponseSchema>;
export type CohortQueryRequest = z.input<typeof QueryRequestSchema>;
export type CohortQueryResponse = z.output<typeof QueryResponseSchema>;
export type CohortSummaryRequest = z.input<typeof SummaryRequestSchema>;
export type CohortSummaryResponse = z.output<typeof SummaryResponseSchema>;
export type CohortExportRequest = z.input<typeof ExportRequestSchema>;
export type CohortSplitRequest = z.input<typeof SplitRequestSchema>;
export type CohortSplitResponse = z.output<typeof SplitResponseSchema>;
export type CohortAgreementRequest = z.input<typeof AgreementRequestSchema>;
export type CohortAgreementResponse = z.output<typeof AgreementResponseSchema>;
export type Attribution = z.output<typeof AttributionSchema>;
export type Health = z.output<typeof HealthSchema>;

/** A non-2xx answer: the problem+json body the API sent. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(status: number, problem: Problem | undefined, text: string) {
    super(problem ? `${status} ${problem.title}: ${problem.detail}` : `${status}: ${text.slice(0, 200)}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

export interface ClientOptions {
  /** API key for the API Gateway (sent as `x-api-key`); not needed locally. */
  apiKey?: string;
  fetch?: typeof fetch;
}

export class NihCxrClient {
  readonly baseUrl: string;
  readonly #opts: ClientOptions;

  constructor(baseUrl: string, opts: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#opts = opts;
  }

  /** Sends a request and returns the raw Response, throwing ApiError for any non-2xx/3xx status. */
  async raw(method: 'GET' | 'POST', path: string, body?: unknown, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#opts.apiKey) headers['x-api-key'] = this.#opts.apiKey;
    const res = await (this.#opts.fetch ?? fetch)(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...init,
    });
    if (res.status >= 400) {
      const text = await res.text();
      let problem: Problem | undefined;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = undefined;
      }
      throw new ApiError(res.status, problem, text);
    }
    return res;
  }

  async #json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return (await (await this.raw(method, path, body)).json()) as T;
  }

  getImage(imageId: string): Promise<ImageRecord> {
    return this.#json('GET', `/v1/images/${encodeURIComponent(imageId)}`);
  }
  batchGet(req: BatchGetRequest): Promise<BatchGetResponse> {
    return this.#json('POST', '/v1/images:batchGet', req);
  }
  patientImages(patientId: number): Promise<PatientImagesResponse> {
    return this.#json('GET', `/v1/patients/${patientId}/images`);
  }
  queryCohort(req: CohortQueryRequest): Promise<CohortQueryResponse> {
    return this.#json('POST', '/v1/cohorts:query', req);
  }
  /** Every page of a cohort query, in imageId order. */
  async *queryAll(
    req: Omit<CohortQueryRequest, 'pageToken'>,
  ): AsyncGenerator<CohortQueryResponse['images'][number]> {
    let pageToken: string | undefined;
    do {
      const page = await this.queryCohort(pageToken ? { ...req, pageToken } : req);
      yield* page.images;
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
  }
  summarizeCohort(req: CohortSummaryRequest): Promise<CohortSummaryResponse> {
    return this.#json('POST', '/v1/cohorts:summary', req);
  }
  /** Label quality: the NIH label or each reader against the adjudicated expert label on a cohort. */
  cohortAgreement(req: CohortAgreementRequest): Promise<CohortAgreementResponse> {
    return this.#json('POST', '/v1/cohorts:agreement', req);
  }
  /** Seeded patient-disjoint parts of a cohort: each part's images, patients and finding counts. */
  splitCohort(req: CohortSplitRequest): Promise<CohortSplitResponse> {
    return this.#json('POST', '/v1/cohorts:split', req);
  }
  /** The streamed export (csv, ndjson, nih-csv or parquet) as a web stream of bytes. */
  async exportCohort(req: CohortExportRequest): Promise<ReadableStream<Uint8Array>> {
    const res = await this.raw('POST', '/v1/cohorts:export', req);
    if (!res.body) throw new ApiError(res.status, undefined, 'export returned no body');
    return res.body;
  }
  signUrls(req: SignUrlsRequest): Promise<SignUrlsResponse> {
    return this.#json('POST', '/v1/images:signUrls', req);
  }
  /** The signed URL that `/v1/images/{id}/content` redirects to (the redirect is not followed). */
  async contentUrl(imageId: string, format: 'png' | 'dicom' = 'png'): Promise<string> {
    const res = await this.raw(
      'GET',
      `/v1/images/${encodeURIComponent(imageId)}/content?format=${format}`,
      undefined,
      {
        redirect: 'manual',
      },
    );
    const location = res.headers.get('location');
    if (res.status !== 302 || !location)
      throw new ApiError(res.status, undefined, 'expected a 302 with Location');
    return location;
  }
  attribution(): Promise<Attribution> {
    return this.#json('GET', '/v1/attribution');
  }
  openapi(): Promise<Record<string, unknown>> {
    return this.#json('GET', '/v1/openapi.json');
  }
  health(): Promise<Health> {
    return this.#json('GET', '/v1/healthz');
  }
}
