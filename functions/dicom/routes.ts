import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from '@google-cloud/functions-framework';
import type { DicomwebStore, RenderedType, StreamedBody } from '../../shared/dicom/dicomweb.ts';
import { NotAcceptableError } from '../../shared/dicom/errors.ts';
import { NotFoundError, ServiceUnavailableError } from '../../shared/http/errors.ts';
import { problemResponse } from '../../shared/http/problem.ts';
import type { Route, RouteSpec } from '../../shared/http/router.ts';
import { parseInput } from '../../shared/http/validate.ts';
import type { DicomIdentity, ImageId } from '../../shared/model/index.ts';
import { DicomJsonSchema, DicomParamsSchema } from './schemas.ts';

export interface DicomRouteDeps {
  /** The image's DICOM identity: undefined when there is no such image, null when it has none recorded. */
  identity(imageId: ImageId): Promise<DicomIdentity | null | undefined>;
  /** undefined when no store is configured: every route then answers 503 with `problem`. */
  store: DicomwebStore | undefined;
  problem: string;
}

const CACHE = 'private, max-age=3600';

/** The rendered type the caller prefers by Accept (q-values honoured); PNG when it accepts anything. */
export function negotiateRendered(accept: string | undefined): RenderedType {
  if (!accept?.trim()) return 'image/png';
  const ranked = accept
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((x) => Number.isFinite(x.q) && x.q > 0);
  const q = (t: string) => Math.max(0, ...ranked.filter((x) => x.type === t).map((x) => x.q));
  const wild = Math.max(q('image/*'), q('*/*'));
  const png = Math.max(q('image/png'), wild);
  const jpeg = Math.max(q('image/jpeg'), wild);
  if (png === 0 && jpeg === 0) {
    throw new NotAcceptableError('The rendered image is available as image/png or image/jpeg only.');
  }
  return jpeg > png ? 'image/jpeg' : 'image/png';
}

async function send(res: Response, body: StreamedBody, extra: Record<string, string> = {}): Promise<void> {
  res.status(200).set({ 'Content-Type': body.contentType, 'Cache-Control': CACHE, ...extra });
  async function* all() {
    yield body.head;
    yield* body.rest;
  }
  // Headers are sent with the first chunk: a store failure after that can only cut the response short.
  await pipeline(Readable.from(all()), res).catch(() => res.destroy());
}

function spec(operationId: string, summary: string, ok: RouteSpec['responses'][number]): RouteSpec {
  return {
    operationId,
    summary,
    params: DicomParamsSchema,
    responses: {
      200: ok,
      400: problemResponse('Malformed image id'),
      403: problemResponse(
        "The store refused the function's credentials; names the access form and variable",
      ),
      404: problemResponse('No such image, no DICOM identity recorded for it, or not in the store'),
      503: problemResponse(
        'No store configured (names the variable to set), or the store failed; see Retry-After',
      ),
    },
  };
}

export function createDicomRoutes(deps: DicomRouteDeps): Route[] {
  async function resolve(
    params: Record<string, string>,
  ): Promise<{ store: DicomwebStore; id: DicomIdentity }> {
    const { imageId } = parseInput(DicomParamsSchema, params, 'path');
    const store = deps.store;
    if (!store) throw new ServiceUnavailableError(deps.problem);
    const id = await deps.identity(imageId);
    if (id === undefined) throw new NotFoundError(`Image ${imageId} does not exist.`);
    if (id === null) {
      throw new NotFoundError(
        `Image ${imageId} has no DICOM identity yet: upload images/${imageId}.dcm or run npm run load:dicom.`,
      );
    }
    return { store, id };
  }
  return [
    {
      method: 'GET',
      path: '/v1/images/{imageId}/dicom/metadata',
      spec: spec('getImageDicomMetadata', "The image's DICOM JSON metadata, read from the DICOMweb store", {
        description: 'DICOM JSON',
        schema: DicomJsonSchema,
        contentType: 'application/dicom+json',
      }),
      handler: async (_req: Request, params) => {
        const { store, id } = await resolve(params);
        const json = await store.metadata(id);
        return {
          write: (res) => {
            res.status(200).set({ 'Content-Type': 'application/dicom+json', 'Cache-Control': CACHE });
            res.send(JSON.stringify(json));
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/images/{imageId}/dicom/rendered',
      spec: spec(
        'getImageDicomRendered',
        'The image rendered by the store: PNG, or JPEG when Accept prefers it',
        {
          description: 'image/png or image/jpeg',
          contentType: 'image/png',
        },
      ),
      handler: async (req, params) => {
        const type = negotiateRendered(req.headers.accept);
        const { store, id } = await resolve(params);
        const body = await store.rendered(id, type);
        return { write: (res) => send(res, body, { Vary: 'Accept' }) };
      },
    },
    {
      method: 'GET',
      path: '/v1/images/{imageId}/dicom/instance',
      spec: spec('getImageDicomInstance', 'The DICOM Part 10 file from the store (application/dicom)', {
        description: 'application/dicom',
        contentType: 'application/dicom',
      }),
      handler: async (_req, params) => {
        const { store, id } = await resolve(params);
        const body = await store.instance(id);
        return {
          write: (res) =>
            send(res, body, { 'Content-Disposition': `attachment; filename="${id.sopInstanceUid}.dcm"` }),
        };
      },
    },
  ];
}
