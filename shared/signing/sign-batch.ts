import type { ImageFormat } from '../model/gcs.ts';
import type { ImageId } from '../model/ids.ts';
import { dedupe, type Limiter, mapLimited } from './pool.ts';
import type { SignedUrl } from './url-signer.ts';
import { datasetResourcePath, type V4Batch } from './v4.ts';

/**
 * Signs one URL per distinct id of a batch and returns them in the order of `ids`. Every id is checked before
 * anything is signed. `signHex` maps a string to sign to the hex signature.
 */
export async function signBatch(
  batch: V4Batch,
  ids: readonly ImageId[],
  format: ImageFormat,
  signHex: (stringToSign: string) => Promise<string>,
  limiter: Limiter,
): Promise<SignedUrl[]> {
  const { unique, slot } = dedupe(ids);
  const paths = unique.map((id) => datasetResourcePath(id, format));
  const sigs = await mapLimited(paths, limiter, (p) => signHex(batch.stringToSign(p)));
  const urls = unique.map((imageId, i) => ({
    imageId,
    url: batch.url(paths[i]!, sigs[i]!),
    expiresAt: batch.expiresAt,
  }));
  return slot.map((s) => ({ ...urls[s]! }));
}
