import type { Request } from '@google-cloud/functions-framework';
import { ServiceUnavailableError } from '../../shared/http/errors.ts';
import { problemResponse } from '../../shared/http/problem.ts';
import type { Route } from '../../shared/http/router.ts';
import { jsonBody, parseInput, rejectOversizedArray } from '../../shared/http/validate.ts';
import { DEFAULT_MAX_URL_SECONDS } from '../../shared/signing/config.ts';
import type { SigningLimits } from '../../shared/signing/create-signer.ts';
import { urlLifetime } from '../../shared/signing/lifetime.ts';
import type { UrlSigner } from '../../shared/signing/url-signer.ts';
import {
  CONTENT_EXPIRES_SECONDS,
  ContentParamsSchema,
  ContentQuerySchema,
  MAX_IDS,
  SignUrlsBodySchema,
  SignUrlsResponseSchema,
} from './schemas.ts';

export interface SignerRouteDeps {
  /** undefined when signing is not configured: every route then answers 503 with `problem`. */
  signer: UrlSigner | undefined;
  /** What to set to configure signing (from createUrlSigner). */
  problem?: string | undefined;
  /** From the configuration; default: URLs live at most DEFAULT_MAX_URL_SECONDS. */
  limits?: Pick<SigningLimits, 'maxExpiresInSeconds'>;
}

function requireSigner(deps: SignerRouteDeps): UrlSigner {
  if (deps.signer) return deps.signer;
  throw new ServiceUnavailableError(deps.problem ?? 'URL signing is not configured.');
}

export function createSignerRoutes(deps: SignerRouteDeps): Route[] {
  const maxSeconds = deps.limits?.maxExpiresInSeconds ?? DEFAULT_MAX_URL_SECONDS;
  return [
    {
      method: 'POST',
      path: '/v1/images:signUrls',
      spec: {
        operationId: 'signImageUrls',
        summary: 'V4 signed GET URLs for up to 1,000 images of the requester-pays dataset bucket',
        body: SignUrlsBodySchema,
        responses: {
          200: { description: 'One signed URL per id', schema: SignUrlsResponseSchema },
          400: problemResponse(
            'Malformed ids, format or expiresInSeconds, or a lifetime past SIGNED_URL_MAX_SECONDS (errors name the field)',
          ),
          503: problemResponse('URL signing is not configured, or IAM signBlob failed'),
        },
      },
      handler: async (req: Request) => {
        const raw = jsonBody(req);
        rejectOversizedArray(raw, 'imageIds', MAX_IDS, 'image ids');
        const input = parseInput(SignUrlsBodySchema, raw, 'body');
        const expires = urlLifetime(input.expiresInSeconds, maxSeconds, 'body.expiresInSeconds');
        const signer = requireSigner(deps);
        const urls = await signer.signMany(input.imageIds, input.format, expires);
        return { body: { urls, billingProject: signer.billingProject } };
      },
    },
    {
      method: 'GET',
      path: '/v1/images/{imageId}/content',
      spec: {
        operationId: 'getImageContent',
        summary: `302 to a fresh signed URL (valid ${CONTENT_EXPIRES_SECONDS} s) of the image's PNG or DICOM file`,
        params: ContentParamsSchema,
        query: ContentQuerySchema,
        responses: { 302: { description: 'Location: the signed URL; Cache-Control: no-store' } },
      },
      handler: async (req, params) => {
        const { imageId } = parseInput(ContentParamsSchema, params, 'path');
        const { format } = parseInput(ContentQuerySchema, req.query, 'query');
        const signer = requireSigner(deps);
        const [signed] = await signer.signMany(
          [imageId],
          format,
          Math.min(CONTENT_EXPIRES_SECONDS, maxSeconds),
        );
        const location = signed!.url;
        return {
          write: (res) => {
            res.status(302).set({ Location: location, 'Cache-Control': 'no-store' }).end();
          },
        };
      },
    },
  ];
}
