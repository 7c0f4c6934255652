import * as z from 'zod';
import { envString, loadConfig } from '../config.ts';

/** A Google Cloud project id, optionally domain-scoped (`example.com:my-project`). */
const PROJECT_ID = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export const SIGNER_KINDS = ['auto', 'iam', 'key', 'hmac'] as const;

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
});
export type SignerConfig = z.output<typeof SignerConfigSchema>;

/** Reads the signer's configuration once at start-up; throws a ConfigError only for malformed values. */
export function loadSignerConfig(env: Record<string, string | undefined> = process.env): SignerConfig {
  return loadConfig(SignerConfigSchema, env);
}
