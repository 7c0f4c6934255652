import type { ImageFormat } from '../model/gcs.ts';
import type { ImageId } from '../model/ids.ts';

export interface SignedUrl {
  imageId: ImageId;
  url: string;
  /** ISO 8601 instant after which the URL stops working. */
  expiresAt: string;
}

/** Signs V4 GET URLs for the dataset bucket's own objects, billed to the requester-pays project. */
export interface UrlSigner {
  readonly billingProject: string;
  signMany(ids: readonly ImageId[], format: ImageFormat, expiresInSeconds: number): Promise<SignedUrl[]>;
}
