import { ServiceUnavailableError } from '../http/errors.ts';
import { logger as defaultLogger, type Logger } from '../log.ts';
import { createLimiter, dedupe, mapLimited } from './pool.ts';
import { UrlCache, type UrlCacheOptions } from './url-cache.ts';
import type { SignedUrl, UrlSigner } from './url-signer.ts';
import { assertExpiry, datasetResourcePath, prepareV4Batch, toWholeSeconds } from './v4.ts';

/**
 * What the IAM path needs of its signing client, shaped like google-auth-library's `GoogleAuth`: `sign`
 * (RSA-SHA256 by the IAM Credentials `signBlob` API for the runtime service account; base64 out) and the
 * account's e-mail. Production passes createCloudBlobSigner (iam-rest.ts); tests a plain object backed by a
 * local key.
 */
export interface BlobSigner {
  sign(data: string): Promise<string>;
  getCredentials(): Promise<{ client_email?: string | null | undefined }>;
  /** Starts fetching the identity and token without waiting (instance start-up); errors are left to sign(). */
  warm?(): void;
}

export interface IamSignerOptions {
  auth: BlobSigner;
  billingProject: string;
  now?: () => Date;
  /** signBlob calls in flight at once for this instance, across all requests. */
  concurrency?: number;
  cache?: UrlCacheOptions;
  logger?: Logger;
}

/**
 * GOOG4-RSA-SHA256 through IAM signBlob with the default credentials (Cloud Functions: no key file). Each
 * signature is a network call, so a batch runs with bounded concurrency and URLs are reused from a cache while
 * at least half of their lifetime is left.
 */
export function createIamSigner(opts: IamSignerOptions): UrlSigner {
  const { auth, billingProject } = opts;
  const now = opts.now ?? (() => new Date());
  const limiter = createLimiter(opts.concurrency ?? 16);
  const cache = new UrlCache(opts.cache);
  let email: Promise<string> | undefined;
  const clientEmail = () => {
    if (!email) {
      const p = auth.getCredentials().then((c) => {
        if (!c.client_email) throw new Error('the default credentials have no service-account e-mail');
        return c.client_email;
      });
      p.catch(() => {
        if (email === p) email = undefined; // try again on the next request
      });
      email = p;
    }
    return email;
  };
  const log = opts.logger ?? defaultLogger;
  const unavailable = (cause: unknown) => {
    // The caller sees a generic 503; the operator needs the reason (e.g. a missing Token Creator role).
    log.error('IAM signBlob failed', { reason: cause instanceof Error ? cause.message : String(cause) });
    return new ServiceUnavailableError('Could not sign URLs with the IAM signBlob API; try again shortly.', {
      cause,
    });
  };

  return {
    billingProject,
    warm() {
      auth.warm?.();
      clientEmail().catch(() => undefined);
    },
    async signMany(ids, format, expiresInSeconds) {
      assertExpiry(expiresInSeconds);
      const { unique, slot } = dedupe(ids);
      const paths = unique.map((id) => datasetResourcePath(id, format));
      const signedAt = toWholeSeconds(now());
      const nowMs = signedAt.getTime();
      const keys = unique.map((id) => UrlCache.key(id, format, expiresInSeconds));
      const out: (SignedUrl | undefined)[] = keys.map((k) => cache.get(k, nowMs));
      const misses = out.flatMap((u, i) => (u ? [] : [i]));
      if (misses.length > 0) {
        let accessId: string;
        try {
          accessId = await clientEmail();
        } catch (err) {
          throw unavailable(err);
        }
        const batch = prepareV4Batch({
          algorithm: 'GOOG4-RSA-SHA256',
          accessId,
          billingProject,
          signedAt,
          expiresInSeconds,
        });
        let sigs: string[];
        try {
          sigs = await mapLimited(misses, limiter, async (i) =>
            Buffer.from(await auth.sign(batch.stringToSign(paths[i]!)), 'base64').toString('hex'),
          );
        } catch (err) {
          throw unavailable(err);
        }
        misses.forEach((i, j) => {
          const value = {
            imageId: unique[i]!,
            url: batch.url(paths[i]!, sigs[j]!),
            expiresAt: batch.expiresAt,
          };
          cache.set(keys[i]!, value, batch.signedAtMs, batch.expiresAtMs);
          out[i] = value;
        });
      }
      return slot.map((s) => ({ ...out[s]! }));
    },
  };
}
