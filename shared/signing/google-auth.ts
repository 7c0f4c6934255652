import { GoogleAuth } from 'google-auth-library';
import type { BlobSigner } from './iam-signer.ts';

/**
 * The runtime's default credentials with the cloud-platform scope: what the IAM signer signs with. Imported
 * only by lazyGoogleAuth, with import(), so that google-auth-library is a chunk of its own in the bundle.
 */
export function createGoogleAuth(): BlobSigner {
  return new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
}
