import { createHmac } from 'node:crypto';
import type { UrlSigner } from './url-signer.ts';
import { datasetResourcePath, prepareV4Batch } from './v4.ts';

export interface HmacSignerOptions {
  accessId: string;
  secret: string;
  billingProject: string;
  now?: () => Date;
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * The V4 signing key of a day: HMAC-SHA256 chained over the date, `auto`, `storage`, `goog4_request`,
 * starting from `GOOG4` + secret.
 */
export function hmacSigningKey(secret: string, datestamp: string): Buffer {
  return hmac(hmac(hmac(hmac(`GOOG4${secret}`, datestamp), 'auto'), 'storage'), 'goog4_request');
}

/** GOOG4-HMAC-SHA256 with an HMAC key; the fast path (no RSA, no network). */
export function createHmacSigner(opts: HmacSignerOptions): UrlSigner {
  // The secret stays in this closure: nothing that is returned or logged can reach it.
  const { accessId, secret, billingProject } = opts;
  const now = opts.now ?? (() => new Date());
  let day: { datestamp: string; key: Buffer } | undefined;
  const keyFor = (datestamp: string) => {
    if (day?.datestamp !== datestamp) day = { datestamp, key: hmacSigningKey(secret, datestamp) };
    return day.key;
  };
  return {
    billingProject,
    async signMany(ids, format, expiresInSeconds) {
      const batch = prepareV4Batch({
        algorithm: 'GOOG4-HMAC-SHA256',
        accessId,
        billingProject,
        signedAt: now(),
        expiresInSeconds,
      });
      const paths = ids.map((id) => datasetResourcePath(id, format));
      const key = keyFor(batch.datestamp);
      return paths.map((p, i) => ({
        imageId: ids[i]!,
        url: batch.url(p, createHmac('sha256', key).update(batch.stringToSign(p)).digest('hex')),
        expiresAt: batch.expiresAt,
      }));
    },
  };
}
