import { GoogleAuth } from 'google-auth-library';
import type { BlobSigner } from './iam-signer.ts';

/**
 * The runtime's default credentials with the cloud-platform scope: what the IAM signer signs with. Imported
 * only by lazyGoogleAuth, with import(): a module of ours, because import() of the CommonJS package itself
 * would lose its named exports in a split bundle (scripts/build.ts refuses it).
 */
export function createGoogleAuth(): BlobSigner {
  return new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
}
