import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { type ImageId, parseImageId } from '../../shared/model/ids.ts';
import type { BlobSigner } from '../../shared/signing/iam-signer.ts';
import type { UrlSigner } from '../../shared/signing/url-signer.ts';

export const EMAIL = 'nih-signer@my-billing-1.iam.gserviceaccount.com';
export const BILLING = 'my-billing-1';
export const HMAC_ID = 'GOOG1EXAMPLEACCESSIDFORTESTS0000000000000000000000000000';
export const HMAC_SECRET = 'bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ';

export interface TestKey {
  pem: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** A fresh RSA-2048 key pair, as a service-account key JSON holds it (PKCS#8 PEM). */
export function rsaKey(): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey, privateKey };
}

/** `n` distinct image ids starting at patient `from`. */
export function ids(n: number, from = 1): ImageId[] {
  return Array.from(
    { length: n },
    (_, i) => parseImageId(`${String(from + i).padStart(8, '0')}_${String(i % 7).padStart(3, '0')}`)!,
  );
}

export function fixedClock(iso: string): {
  now: () => Date;
  set: (iso: string) => void;
  advance: (s: number) => void;
} {
  let t = Date.parse(iso);
  return {
    now: () => new Date(t),
    set: (v) => {
      t = Date.parse(v);
    },
    advance: (s) => {
      t += s * 1000;
    },
  };
}

/**
 * A stand-in for GoogleAuth's signBlob path: a real RSA key, an optional delay, and counters of calls and of
 * the most calls in flight at once.
 */
export function localBlobSigner(key: TestKey, delayMs = 0) {
  const stats = { signCalls: 0, credentialCalls: 0, inFlight: 0, maxInFlight: 0, fail: false };
  const auth: BlobSigner = {
    async sign(data) {
      stats.signCalls++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        if (stats.fail) throw new Error('signBlob: 503 backend unavailable');
        return sign('sha256', Buffer.from(data), key.privateKey).toString('base64');
      } finally {
        stats.inFlight--;
      }
    },
    async getCredentials() {
      stats.credentialCalls++;
      return { client_email: EMAIL };
    },
  };
  return { auth, stats };
}

/** Wraps a signer and counts signMany calls, to show that bad input signs nothing. */
export function countingSigner(inner: UrlSigner): UrlSigner & { calls: number } {
  const s = {
    calls: 0,
    billingProject: inner.billingProject,
    signMany: (...args: Parameters<UrlSigner['signMany']>) => {
      s.calls++;
      return inner.signMany(...args);
    },
  };
  return s;
}
