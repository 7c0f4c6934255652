import * as z from 'zod';
import { IMAGE_FORMATS } from '../../shared/model/gcs.ts';
import { ImageIdSchema } from '../../shared/model/ids.ts';
import { DEFAULT_MAX_URL_SECONDS } from '../../shared/signing/config.ts';
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
