import * as z from 'zod';
import { envInt, envString, loadConfig } from '../config.ts';
import { MAX_EXPIRES_SECONDS } from './v4.ts';

/** A Google Cloud project id, optionally domain-scoped (`example.com:my-project`). */
const PROJECT_ID = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export const SIGNER_KINDS = ['auto', 'iam', 'key', 'hmac'] as const;

/** Default longest lifetime of a signed URL: least exposure, since a URL cannot be revoked and bills us. */
export const DEFAULT_MAX_URL_SECONDS = 3600;

/**
 * Default cap on the rows of one signed export on the IAM path. Each URL there is one signBlob round trip;
 * at 16 in flight and 100-200 ms per call (Google's service; not measurable offline) 10,000 signatures take
 * 62-125 s, so the export ends well inside the 300 s function timeout with room for the query and the
 * transfer. `npm run bench -- export` times it through the route and google-auth-library against a local
 * signBlob stand-in: 119 s at a 100 ms round trip on a shared 2-core machine (40% of 300 s); the whole
 * dataset (112,120 rows) would need 700-1,400 s, where HMAC signs it in under 10 s.
 */
export const DEFAULT_IAM_EXPORT_MAX_ROWS = 10_000;

/** The environment of the signer; every variable is optional so that an unconfigured server still starts. */
export const SignerConfigSchema = z.object({
  /** Project billed for requester-pays downloads; every URL carries it as `userProject`. */
  BILLING_PROJECT: envString().refine((v) => v === undefined || PROJECT_ID.test(v), {
    message: 'must be a Google Cloud project id such as my-project-123',
  }),
  /** Path of a service-account key JSON (the standard variable). */
  GOOGLE_APPLICATION_CREDENTIALS: envString(),
  HMAC_ACCESS_ID: envString(),
  HMAC_SECRET: envString(),
  SIGNER: z.preprocess((v) => (v === '' ? undefined : v), z.enum(SIGNER_KINDS).default('auto')),
  /** Set by Cloud Run / Cloud Functions (2nd gen); its presence means the runtime identity can use signBlob. */
  K_SERVICE: envString(),
  /** Set by Cloud Functions (1st gen). */
  FUNCTION_NAME: envString(),
  /** Longest lifetime a caller may ask of a signed URL, in seconds (1 s .. 7 days); more is a 400. */
  SIGNED_URL_MAX_SECONDS: envInt(DEFAULT_MAX_URL_SECONDS, 1, MAX_EXPIRES_SECONDS),
  /** Most rows a signed export may have on the IAM path (0 = none); past it the export is refused with a 422. */
  SIGNED_EXPORT_IAM_MAX_ROWS: envInt(DEFAULT_IAM_EXPORT_MAX_ROWS, 0, 1_000_000),
});
export type SignerConfig = z.output<typeof SignerConfigSchema>;

/** Reads the signer's configuration once at start-up; throws a ConfigError only for malformed values. */
export function loadSignerConfig(env: Record<string, string | undefined> = process.env): SignerConfig {
  return loadConfig(SignerConfigSchema, env);
}
