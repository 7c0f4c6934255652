import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { availableParallelism } from 'node:os';
import * as z from 'zod';
import { createLimiter } from './pool.ts';
import { signBatch } from './sign-batch.ts';
import type { UrlSigner } from './url-signer.ts';
import { prepareV4Batch } from './v4.ts';

/** The fields of a service-account key JSON that signing needs (the file has more). */
export const ServiceAccountKeySchema = z.object({
  type: z.literal('service_account'),
  client_email: z.string().min(3).includes('@'),
  private_key: z.string().includes('PRIVATE KEY'),
});
export type ServiceAccountKey = Pick<
  z.output<typeof ServiceAccountKeySchema>,
  'client_email' | 'private_key'
>;

export interface KeySignerOptions {
  key: ServiceAccountKey;
  billingProject: string;
  now?: () => Date;
  /**
   * RSA signatures in flight at once. They run on libuv's thread pool (`crypto.sign` with a callback), so a
   * batch uses every core and the event loop stays free; default: the number of cores.
   */
  parallelism?: number;
}

/** Parses the PEM once; throws a TypeError (without key material) when it is not an RSA private key. */
export function parseRsaKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new TypeError('private_key is not a readable PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new TypeError('private_key is not an RSA key');
  return key;
}

/** GOOG4-RSA-SHA256 with a service-account key held in memory; no network. */
export function createKeySigner(opts: KeySignerOptions): UrlSigner {
  const key = parseRsaKey(opts.key.private_key);
  const email = opts.key.client_email;
  const billingProject = opts.billingProject;
  const now = opts.now ?? (() => new Date());
  const limiter = createLimiter(opts.parallelism ?? Math.max(2, availableParallelism()));
  const signHex = (data: string) =>
    new Promise<string>((resolve, reject) => {
      sign('sha256', Buffer.from(data), key, (err, sig) =>
        err ? reject(err) : resolve(sig.toString('hex')),
      );
    });
  return {
    billingProject,
    async signMany(ids, format, expiresInSeconds) {
      const batch = prepareV4Batch({
        algorithm: 'GOOG4-RSA-SHA256',
        accessId: email,
        billingProject,
        signedAt: now(),
        expiresInSeconds,
      });
      return signBatch(batch, ids, format, signHex, limiter);
    },
  };
}
