import type { Request } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { ServiceUnavailableError } from '../../shared/http/errors.ts';
import { problemResponse } from '../../shared/http/problem.ts';
import type { Route } from '../../shared/http/router.ts';
import { jsonBody, parseInput, rejectOversizedArray } from '../../shared/http/validate.ts';
import { IMAGE_FORMATS } from '../../shared/model/gcs.ts';
import { ImageIdSchema } from '../../shared/model/ids.ts';
import { DEFAULT_MAX_URL_SECONDS } from '../../shared/signing/config.ts';
import type { SigningLimits } from '../../shared/signing/create-signer.ts';
import { urlLifetime } from '../../shared/signing/lifetime.ts';
import type { UrlSigner } from '../../shared/signing/url-signer.ts';
import { MAX_EXPIRES_SECONDS } from '../../shared/signing/v4.ts';

export const MAX_IDS = 1000;
/** Lifetime of the URL behind a `/content` redirect: followed at once, so short. */
export const CONTENT_EXPIRES_SECONDS = 900;

const FormatSchema = z.enum(IMAGE_FORMATS).describe('png (default) or dicom');

export const SignUrlsBodySchema = z.strictObject({
  imageIds: z
    .array(ImageIdSchema)
    .min(1, 'must hold at least one image id')
    .max(MAX_IDS, `must hold at most ${MAX_IDS} image ids`),
  format: FormatSchema.default('png'),
  expiresInSeconds: z
    .number()
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(MAX_EXPIRES_SECONDS, `must be at most ${MAX_EXPIRES_SECONDS} seconds (7 days)`)
    .optional()
    .describe(
      `Lifetime of the URLs; default 3600, or the deployment's maximum (SIGNED_URL_MAX_SECONDS, default ${DEFAULT_MAX_URL_SECONDS}) when that is shorter. More than that maximum is a 400.`,
    ),
});

const SignedUrlSchema = z.object({
  imageId: z.string().regex(/^\d{8}_\d{3}$/),
  url: z.url().describe('V4 signed GET URL; carries userProject'),
  expiresAt: z.iso.datetime(),
});
export const SignUrlsResponseSchema = z.object({
  urls: z.array(SignedUrlSchema).describe('one per requested id, in request order'),
  billingProject: z.string().describe('the requester-pays project billed for the downloads'),
});

export const ContentParamsSchema = z.object({ imageId: ImageIdSchema });
export const ContentQuerySchema = z.object({ format: FormatSchema.default('png') });

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
