import type { ImageFormat } from '../model/gcs.ts';
import type { ImageId } from '../model/ids.ts';

export interface SignedUrl {
  imageId: ImageId;
  url: string;
  /** ISO 8601 instant after which the URL stops working. */
  expiresAt: string;
}

/**
 * Signs V4 GET URLs for the dataset bucket's own objects, billed to the requester-pays project.
 *
 * `signMany` returns one URL per id, in the order given (duplicates allowed). It throws a RangeError for an
 * expiry outside 1..604,800 s or an id that is not an image id, and a 503 `ServiceUnavailableError` when the
 * signing service (IAM signBlob) fails.
 */
export interface UrlSigner {
  readonly billingProject: string;
  signMany(ids: readonly ImageId[], format: ImageFormat, expiresInSeconds: number): Promise<SignedUrl[]>;
  /**
   * Starts what the first signature will need (the IAM path: identity and token) without waiting for it,
   * so that it overlaps an instance's start-up; a failure is met again, and retried, by signMany.
   */
  warm?(): void;
}

/** Which of the three signers: IAM signBlob with the runtime identity, a service-account key, an HMAC key. */
export type SignerKind = 'iam' | 'key' | 'hmac';
