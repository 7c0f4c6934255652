import { readFileSync } from 'node:fs';
import { type GoogleEnv, loadGoogleEnv } from '../google/google-env.ts';
import { lazy } from '../lazy.ts';
import type { SignerConfig } from './config.ts';
import { createHmacSigner } from './hmac-signer.ts';
import { createCloudBlobSigner } from './iam-rest.ts';
import { type BlobSigner, createIamSigner } from './iam-signer.ts';
import { createKeySigner, type ServiceAccountKey, ServiceAccountKeySchema } from './key-signer.ts';
import type { SignerKind, UrlSigner } from './url-signer.ts';

/** What the routes allow of a signer, from the configuration (SIGNED_URL_MAX_SECONDS, SIGNED_EXPORT_IAM_MAX_ROWS). */
export interface SigningLimits {
  /** Longest lifetime a request may ask for; a longer one is a 400. */
  maxExpiresInSeconds: number;
  /** Most rows of a signed export on the IAM path (one signBlob call each); more is a 422. */
  iamExportMaxRows: number;
}

/**
 * A working signer, or why there is none: `problem` says which variables to set and nothing about the host
 * (the routes answer 503 with it); `reason`, for the operator's log only, may name the key file's path.
 */
export type SignerSetup = (
  | { signer: UrlSigner; kind: SignerKind; problem?: undefined }
  | { signer: undefined; kind?: undefined; problem: string; reason?: string | undefined }
) & { limits: SigningLimits };

export interface SignerDeps {
  now?: () => Date;
  /** Reads the key file; defaults to readFileSync (once, at start-up). */
  readFile?: (path: string) => string;
  /**
   * The signing client of the IAM path; defaults to createCloudBlobSigner: the metadata server and IAM
   * signBlob over REST on Google Cloud, lazyGoogleAuth() (Application Default Credentials) elsewhere.
   */
  googleAuth?: () => BlobSigner;
  /** Metadata server, proxy and key file of the default IAM client; loadGoogleEnv() when unset. */
  google?: GoogleEnv;
  iamConcurrency?: number;
}

const OPTIONS =
  'HMAC_ACCESS_ID and HMAC_SECRET (an HMAC key), or GOOGLE_APPLICATION_CREDENTIALS (path of a service-account ' +
  'key JSON), or run on Google Cloud / set SIGNER=iam (the runtime service account signs through IAM signBlob)';

/**
 * google-auth-library's GoogleAuth, loaded and created on the first signature, once (some 100 ms of import a
 * cold start does not pay, and HMAC or key-file signers never load it). A failed load is retried next time.
 * The IAM path's fallback off Google Cloud (createCloudBlobSigner).
 */
export function lazyGoogleAuth(): BlobSigner {
  const get = lazy(async () => (await import('./google-auth.ts')).createGoogleAuth());
  return {
    sign: async (data) => (await get()).sign(data),
    getCredentials: async () => (await get()).getCredentials(),
  };
}

type Choice = { kind: SignerKind; key?: ServiceAccountKey } | { problem: string; reason?: string };

function readKey(
  path: string,
  readFile: (p: string) => string,
): { key: ServiceAccountKey } | { problem: string; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(readFile(path));
  } catch {
    return {
      problem: 'GOOGLE_APPLICATION_CREDENTIALS does not name a readable JSON file.',
      reason: `GOOGLE_APPLICATION_CREDENTIALS=${path} is not a readable JSON file.`,
    };
  }
  const r = ServiceAccountKeySchema.safeParse(json);
  if (!r.success) {
    const type = (json as { type?: unknown } | null)?.type;
    return {
      problem:
        'GOOGLE_APPLICATION_CREDENTIALS does not name a service-account key JSON; only a service-account ' +
        'key can sign URLs.',
      reason:
        `GOOGLE_APPLICATION_CREDENTIALS=${path} is not a service-account key JSON` +
        (typeof type === 'string' ? ` (its type is ${type}).` : '.'),
    };
  }
  return { key: { client_email: r.data.client_email, private_key: r.data.private_key } };
}

function choose(c: SignerConfig, readFile: (p: string) => string): Choice {
  const onGcp = Boolean(c.K_SERVICE || c.FUNCTION_NAME);
  const hasId = c.HMAC_ACCESS_ID !== undefined;
  const hasSecret = c.HMAC_SECRET !== undefined;
  if (c.SIGNER === 'iam') return { kind: 'iam' };
  if (c.SIGNER === 'hmac' || (c.SIGNER === 'auto' && hasId !== hasSecret)) {
    if (hasId && hasSecret) return { kind: 'hmac' };
    const missing = [hasId ? '' : 'HMAC_ACCESS_ID', hasSecret ? '' : 'HMAC_SECRET'].filter(Boolean);
    return {
      problem: `HMAC signing needs both HMAC_ACCESS_ID and HMAC_SECRET; set ${missing.join(' and ')}.`,
    };
  }
  if (c.SIGNER === 'auto' && hasId && hasSecret) return { kind: 'hmac' };
  const keyPath = c.GOOGLE_APPLICATION_CREDENTIALS;
  if (c.SIGNER === 'key' && keyPath === undefined) {
    return {
      problem: 'SIGNER=key needs GOOGLE_APPLICATION_CREDENTIALS (path of a service-account key JSON).',
    };
  }
  if (keyPath !== undefined) {
    const k = readKey(keyPath, readFile);
    if ('key' in k) return { kind: 'key', key: k.key };
    // A user's gcloud credentials cannot sign locally, but the runtime identity on Google Cloud can.
    if (c.SIGNER === 'auto' && onGcp) return { kind: 'iam' };
    return { problem: `${k.problem} Set ${OPTIONS}.`, reason: k.reason };
  }
  if (onGcp) return { kind: 'iam' };
  return { problem: `No URL signer is configured. Set ${OPTIONS}.` };
}

/** Builds the configured signer once per instance (SIGNER=auto: HMAC, else key file, else IAM on Google Cloud). */
export function createUrlSigner(config: SignerConfig, deps: SignerDeps = {}): SignerSetup {
  const limits: SigningLimits = {
    maxExpiresInSeconds: config.SIGNED_URL_MAX_SECONDS,
    iamExportMaxRows: config.SIGNED_EXPORT_IAM_MAX_ROWS,
  };
  return { ...chooseSigner(config, deps), limits };
}

/**
 * The signer of cohort exports: HMAC whenever both HMAC variables are set, whatever SIGNER says, because an
 * export signs up to the whole dataset and HMAC signs locally in microseconds, where IAM makes one signBlob
 * call per URL; otherwise the configured signer.
 */
export function createExportSigner(config: SignerConfig, deps: SignerDeps = {}): SignerSetup {
  const hmac = config.HMAC_ACCESS_ID !== undefined && config.HMAC_SECRET !== undefined;
  return createUrlSigner(hmac ? { ...config, SIGNER: 'hmac' } : config, deps);
}

type Chosen =
  | { signer: UrlSigner; kind: SignerKind; problem?: undefined }
  | { signer: undefined; kind?: undefined; problem: string; reason?: string | undefined };

function chooseSigner(config: SignerConfig, deps: SignerDeps): Chosen {
  const choice = choose(config, deps.readFile ?? ((p) => readFileSync(p, 'utf8')));
  const billing = config.BILLING_PROJECT;
  if (billing === undefined) {
    const also = 'problem' in choice ? ` and one signer: ${OPTIONS}` : '';
    return {
      signer: undefined,
      problem: `URL signing is not configured: set BILLING_PROJECT (the project billed for requester-pays downloads)${also}.`,
    };
  }
  if ('problem' in choice) {
    const problem = `URL signing is not configured: ${choice.problem}`;
    return { signer: undefined, problem, reason: choice.reason };
  }
  const now = deps.now ?? (() => new Date());
  switch (choice.kind) {
    case 'hmac':
      return {
        kind: 'hmac',
        signer: createHmacSigner({
          accessId: config.HMAC_ACCESS_ID!,
          secret: config.HMAC_SECRET!,
          billingProject: billing,
          now,
        }),
      };
    case 'key':
      try {
        return { kind: 'key', signer: createKeySigner({ key: choice.key!, billingProject: billing, now }) };
      } catch (err) {
        return {
          signer: undefined,
          problem:
            'URL signing is not configured: the private_key of the GOOGLE_APPLICATION_CREDENTIALS key cannot ' +
            `sign. Set ${OPTIONS}.`,
          reason: `GOOGLE_APPLICATION_CREDENTIALS=${config.GOOGLE_APPLICATION_CREDENTIALS}: ${(err as Error).message}.`,
        };
      }
    case 'iam': {
      const auth =
        deps.googleAuth?.() ??
        createCloudBlobSigner({ google: deps.google ?? loadGoogleEnv(), fallback: lazyGoogleAuth });
      return {
        kind: 'iam',
        signer: createIamSigner({
          auth,
          billingProject: billing,
          now,
          ...(deps.iamConcurrency ? { concurrency: deps.iamConcurrency } : {}),
        }),
      };
    }
  }
}
