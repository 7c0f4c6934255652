/**
 * Cloud Storage V4 signed GET URLs, path style on storage.googleapis.com, as
 * https://cloud.google.com/storage/docs/access-control/signing-urls-manually describes them. The output is the
 * same, byte for byte, as `@google-cloud/storage`'s `getSignedUrl({version: 'v4', action: 'read', queryParams:
 * {userProject}})`: the same query order (the canonical order, then `X-Goog-Signature`) and percent-encoding.
 *
 * A batch shares everything but the object path, so it is prepared once (`prepareV4Batch`) and each URL then
 * costs one SHA-256 of a short canonical request plus the signature.
 */
import { hash } from 'node:crypto';
import { DATASET_BUCKET, type ImageFormat, objectName } from '../model/gcs.ts';
import type { ImageId } from '../model/ids.ts';

export const SIGNING_HOST = 'storage.googleapis.com';
export const MAX_EXPIRES_SECONDS = 604_800;
export type V4Algorithm = 'GOOG4-RSA-SHA256' | 'GOOG4-HMAC-SHA256';

/** Percent-encodes all but the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~`. */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` (UTC) of an instant. */
export function v4Stamps(at: Date): { datestamp: string; timestamp: string } {
  const iso = at.toISOString(); // 2025-01-02T03:04:05.678Z
  const datestamp = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  const timestamp = `${datestamp}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return { datestamp, timestamp };
}

/** The instant truncated to whole seconds, as signatures carry it. */
export function toWholeSeconds(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

const IMAGE_ID = /^\d{8}_\d{3}$/;

/**
 * `/<bucket>/<object>` of a dataset object. Ids are branded by the schema already; checking again here keeps
 * "only the dataset's own objects" true for every caller of the signers, not just the HTTP routes.
 */
export function datasetResourcePath(id: ImageId, format: ImageFormat): string {
  if (!IMAGE_ID.test(id)) throw new RangeError('not an image id');
  if (format !== 'png' && format !== 'dicom') throw new RangeError('not an image format');
  // Ids and prefixes use only unreserved characters and '/', so the object name needs no encoding.
  return `/${DATASET_BUCKET}/${objectName(id, format)}`;
}

export interface V4BatchInput {
  algorithm: V4Algorithm;
  /** Service-account e-mail (RSA) or HMAC access id. */
  accessId: string;
  billingProject: string;
  /** Signing instant; truncated to whole seconds. */
  signedAt: Date;
  expiresInSeconds: number;
}

export interface V4Batch {
  readonly algorithm: V4Algorithm;
  readonly datestamp: string;
  readonly timestamp: string;
  /** `<date>/auto/storage/goog4_request` */
  readonly scope: string;
  /** Canonical query string without the signature; also the URL's query order. */
  readonly query: string;
  readonly signedAtMs: number;
  readonly expiresAtMs: number;
  readonly expiresAt: string;
  canonicalRequest(resourcePath: string): string;
  /** The string to sign of a resource path: algorithm, timestamp, scope and the canonical request's hash. */
  stringToSign(resourcePath: string): string;
  url(resourcePath: string, signatureHex: string): string;
}

export function assertExpiry(expiresInSeconds: number): void {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_EXPIRES_SECONDS) {
    throw new RangeError(`expiresInSeconds must be an integer in 1..${MAX_EXPIRES_SECONDS}`);
  }
}

/** Precomputes what every URL of one batch shares. */
export function prepareV4Batch(input: V4BatchInput): V4Batch {
  assertExpiry(input.expiresInSeconds);
  const at = toWholeSeconds(input.signedAt);
  const { datestamp, timestamp } = v4Stamps(at);
  const scope = `${datestamp}/auto/storage/goog4_request`;
  // Sorted by code point: upper-case `X-Goog-*` before `userProject`.
  const query =
    `X-Goog-Algorithm=${input.algorithm}` +
    `&X-Goog-Credential=${encodeRfc3986(`${input.accessId}/${scope}`)}` +
    `&X-Goog-Date=${timestamp}` +
    `&X-Goog-Expires=${input.expiresInSeconds}` +
    '&X-Goog-SignedHeaders=host' +
    `&userProject=${encodeRfc3986(input.billingProject)}`;
  const canonicalTail = `\n${query}\nhost:${SIGNING_HOST}\n\nhost\nUNSIGNED-PAYLOAD`;
  const stsHead = `${input.algorithm}\n${timestamp}\n${scope}\n`;
  const urlHead = `https://${SIGNING_HOST}`;
  const urlTail = `?${query}&X-Goog-Signature=`;
  const signedAtMs = at.getTime();
  const expiresAtMs = signedAtMs + input.expiresInSeconds * 1000;
  const canonicalRequest = (path: string) => `GET\n${path}${canonicalTail}`;
  return {
    algorithm: input.algorithm,
    datestamp,
    timestamp,
    scope,
    query,
    signedAtMs,
    expiresAtMs,
    expiresAt: new Date(expiresAtMs).toISOString(),
    canonicalRequest,
    stringToSign: (path) => stsHead + hash('sha256', canonicalRequest(path), 'hex'),
    url: (path, signatureHex) => urlHead + path + urlTail + signatureHex,
  };
}
