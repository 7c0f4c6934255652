import { dicomLinks, type LinkConfig } from '../../shared/dicom/links.ts';
import { NotFoundError, ServiceUnavailableError } from '../../shared/http/errors.ts';
import { createMetaRoutes, type MetaDeps } from '../../shared/http/meta-routes.ts';
import { problemResponse } from '../../shared/http/problem.ts';
import type { Route } from '../../shared/http/router.ts';
import { jsonBody, parseInput, rejectOversizedArray } from '../../shared/http/validate.ts';
import { isStoreUnavailable } from '../../shared/labels/errors.ts';
import { hasJson, type LabelRepo, type StoredImage } from '../../shared/labels/repo.ts';
import type { ImageId, ImageRecord } from '../../shared/model/index.ts';
import { readAgreement } from '../../shared/model/read-agreement.ts';
import { cachedJsonText, cachedReply, etagOf } from './http-cache.ts';
import {
  BatchGetBodySchema,
  BatchGetResponseSchema,
  ImageParamsSchema,
  ImageResponseSchema,
  MAX_BATCH_IDS,
  PatientImagesResponseSchema,
  PatientParamsSchema,
  quickBatchGetIds,
} from './schemas.ts';

export interface LabelsRoutesDeps {
  /**
   * The meta routes (/v1/attribution, /v1/openapi.json, /v1/healthz) live in this function in the cloud;
   * `false` leaves them out (the local server serves its own, with what it loaded).
   */
  meta?: MetaDeps | false;
  repo: LabelRepo;
  /** Cache-Control max-age of successful responses; default 3600. */
  cacheMaxAgeSeconds?: number;
  /** Retry-After when Firestore is unavailable; default 5. */
  retryAfterSeconds?: number;
  /** DICOMweb base and viewer template of the `links` of a record with a DICOM identity; none without. */
  links?: LinkConfig;
}

/**
 * The committed OpenAPI document (npm run gen:openapi), loaded on its first request: some 300 KiB of JSON
 * that would otherwise be part of every cold start. Liveness only, as Firestore has its own 503s.
 */
const PRODUCTION_META: MetaDeps = {
  openapi: async () =>
    (await import('../../shared/openapi/openapi.json', { with: { type: 'json' } })).default,
  health: () => ({ status: 'ok' }),
};

/** Runs a repo read: Firestore unavailable (deadline, outage, open breaker) is a 503 with Retry-After. */
type Guard = <T>(work: () => Promise<T>) => Promise<T>;

function storeGuard(retryAfterSeconds: number): Guard {
  return async (work) => {
    try {
      return await work();
    } catch (err) {
      if (isStoreUnavailable(err)) {
        const known = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
        throw new ServiceUnavailableError('The label store is unavailable; retry shortly.', {
          cause: err,
          retryAfterSeconds: typeof known === 'number' ? known : retryAfterSeconds,
        });
      }
      throw err;
    }
  };
}

/** The record as GET /v1/images/{imageId} shows it: per expert label, whether the reads were unanimous. */
function withReadAgreement(r: ImageRecord, links: LinkConfig | undefined) {
  return {
    ...r,
    expert: { ...r.expert, readAgreement: readAgreement(r.expert.readers) },
    ...(r.dicom && links ? { links: dicomLinks(r.imageId, r.dicom, links) } : {}),
  };
}

interface Reading {
  repo: LabelRepo;
  guard: Guard;
  maxAge: number;
  links: LinkConfig | undefined;
}

function imageRoute({ repo, guard, maxAge, links }: Reading): Route {
  return {
    method: 'GET',
    path: '/v1/images/{imageId}',
    spec: {
      operationId: 'getImage',
      summary: "One image's NIH metadata, findings, boxes, split and expert labels",
      params: ImageParamsSchema,
      responses: {
        200: { description: 'The image record', schema: ImageResponseSchema },
        304: { description: 'Not modified (If-None-Match)' },
        400: problemResponse('Malformed image id'),
        404: problemResponse('No such image'),
        503: problemResponse('Firestore unavailable; see Retry-After'),
      },
    },
    handler: async (req, params) => {
      const { imageId } = parseInput(ImageParamsSchema, params, 'path');
      const image = await guard(() => repo.getImage(imageId));
      if (!image) throw new NotFoundError(`Image ${imageId} does not exist.`);
      return cachedReply(req, etagOf([image.version]), maxAge, withReadAgreement(image.record, links));
    },
  };
}

function batchGetRoute({ repo, guard, maxAge }: Reading): Route {
  return {
    method: 'POST',
    path: '/v1/images:batchGet',
    spec: {
      operationId: 'batchGetImages',
      summary: 'Up to 1,000 image records in one request; unknown ids are listed in `missing`',
      body: BatchGetBodySchema,
      responses: {
        200: {
          description: 'The images found, in request order, and the ids not found',
          schema: BatchGetResponseSchema,
        },
        304: { description: 'Not modified (If-None-Match)' },
        400: problemResponse('Malformed body or image id'),
        413: problemResponse('More than 1,000 image ids'),
        415: problemResponse('Body is not application/json'),
        503: problemResponse('Firestore unavailable; see Retry-After'),
      },
    },
    handler: async (req) => {
      const body = jsonBody(req);
      rejectOversizedArray(body, 'imageIds', MAX_BATCH_IDS, 'image ids');
      const imageIds = quickBatchGetIds(body) ?? parseInput(BatchGetBodySchema, body, 'body').imageIds;
      const unique = [...new Set<ImageId>(imageIds)];
      const found = await guard(() => repo.getImages(unique));
      const images: StoredImage[] = [];
      const missing: ImageId[] = [];
      const parts: string[] = [];
      unique.forEach((id, i) => {
        const image = found[i];
        if (image) images.push(image);
        else missing.push(id);
        parts.push(`${id}:${image?.version ?? '-'}`);
      });
      const etag = etagOf(['batch', ...parts]);
      if (images.every(hasJson)) {
        // The stored JSON of each record is what JSON.stringify(record) gives: no parse and stringify again.
        const json = `{"images":[${images.map((x) => x.json).join(',')}],"missing":${JSON.stringify(missing)}}`;
        return cachedJsonText(req, etag, maxAge, json);
      }
      return cachedReply(req, etag, maxAge, { images: images.map((x) => x.record), missing });
    },
  };
}

function patientRoute({ repo, guard, maxAge }: Reading): Route {
  return {
    method: 'GET',
    path: '/v1/patients/{patientId}/images',
    spec: {
      operationId: 'getPatientImages',
      summary: "A patient's images ordered by follow-up number",
      params: PatientParamsSchema,
      responses: {
        200: { description: "The patient's images", schema: PatientImagesResponseSchema },
        304: { description: 'Not modified (If-None-Match)' },
        400: problemResponse('Malformed patient id'),
        404: problemResponse('No images for this patient'),
        503: problemResponse('Firestore unavailable; see Retry-After'),
      },
    },
    handler: async (req, params) => {
      const { patientId } = parseInput(PatientParamsSchema, params, 'path');
      const images = await guard(() => repo.getPatientImages(patientId));
      if (images.length === 0) throw new NotFoundError(`Patient ${patientId} has no images.`);
      const etag = etagOf([
        'patient',
        String(patientId),
        ...images.map((x) => `${x.record.imageId}:${x.version}`),
      ]);
      return cachedReply(req, etag, maxAge, { patientId, images: images.map((x) => x.record) });
    },
  };
}

/** The routes of the labels function: GET one image, POST images:batchGet, GET a patient's images. */
export function createLabelsRoutes(deps: LabelsRoutesDeps): Route[] {
  const reading: Reading = {
    repo: deps.repo,
    guard: storeGuard(deps.retryAfterSeconds ?? 5),
    maxAge: deps.cacheMaxAgeSeconds ?? 3600,
    links: deps.links,
  };
  const meta = deps.meta === false ? [] : createMetaRoutes(deps.meta ?? PRODUCTION_META);
  return [...meta, imageRoute(reading), batchGetRoute(reading), patientRoute(reading)];
}
