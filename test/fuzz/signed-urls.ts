/**
 * The signing invariant: any URL the API hands out names one object of the dataset bucket, png/ or dicom/,
 * by an image id, on storage.googleapis.com, GET only, billed to the configured project; signed ones verify
 * with the test HMAC secret (independent V4 check in test/signing/v4-verify.ts).
 */
import assert from 'node:assert/strict';
import { verifyHmacUrl } from '../signing/v4-verify.ts';
import { BILLING_PROJECT, HMAC_ACCESS_ID, SECRETS } from './rig.ts';

export const SIGNED_URL =
  /^https:\/\/storage\.googleapis\.com\/gcs-public-data--healthcare-nih-chest-xray\/(png|dicom)\/(\d{8}_\d{3})\.(png|dcm)\?/;
export const GS_URL =
  /^gs:\/\/gcs-public-data--healthcare-nih-chest-xray\/(png|dicom)\/(\d{8}_\d{3})\.(png|dcm)$/;

let verified = 0;
/** How many signatures were checked (reported with the fuzz figures). */
export const signaturesVerified = () => verified;

/**
 * Asserts `url` is the dataset object of `imageId` in `format`; with `expiresInSeconds`, that it is a valid
 * V4 signed URL with that lifetime and the billing project as userProject.
 */
export function assertDatasetUrl(
  url: string,
  imageId: string,
  format: 'png' | 'dicom',
  expiresInSeconds?: number,
  opts: { verifySignature?: boolean } = {},
): void {
  const m = (expiresInSeconds === undefined ? GS_URL : SIGNED_URL).exec(url);
  assert.ok(m, `not a dataset object URL: ${url}`);
  assert.equal(m[1], format, url);
  assert.equal(m[2], imageId, url);
  assert.equal(m[3], format === 'png' ? 'png' : 'dcm', url);
  if (expiresInSeconds === undefined) return;
  const u = new URL(url);
  assert.equal(u.searchParams.get('userProject'), BILLING_PROJECT);
  assert.equal(u.searchParams.get('X-Goog-Expires'), String(expiresInSeconds));
  assert.equal(u.searchParams.get('X-Goog-SignedHeaders'), 'host');
  if (opts.verifySignature === false) return;
  const v = verifyHmacUrl(url, SECRETS.hmacSecret);
  assert.ok(v.valid, `signature does not verify: ${url}`);
  assert.equal(v.accessId, HMAC_ACCESS_ID);
  verified++;
}
