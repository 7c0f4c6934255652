/**
 * An independent check of Cloud Storage V4 signed URLs, written from Google's published algorithm
 * (https://cloud.google.com/storage/docs/access-control/signing-urls-manually and
 * https://cloud.google.com/storage/docs/authentication/signatures), not from the code under test: it parses a
 * URL, rebuilds the canonical request and the string to sign from what the URL itself says, and checks the
 * signature with the public key (RSA) or the HMAC secret.
 */
import { createHash, createHmac, type KeyObject, verify } from 'node:crypto';

const BUCKET = 'gcs-public-data--healthcare-nih-chest-xray';
const OBJECT_PATH = new RegExp(`^/${BUCKET}/(?:png/\\d{8}_\\d{3}\\.png|dicom/\\d{8}_\\d{3}\\.dcm)$`);

/** RFC 3986: everything but A-Z a-z 0-9 - . _ ~ is percent-encoded (upper-case hex). */
function uriEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface ParsedV4 {
  algorithm: string;
  accessId: string;
  date: string;
  timestamp: string;
  expires: number;
  userProject: string;
  path: string;
  stringToSign: string;
  signature: string;
}

/** Rebuilds the string to sign of a V4 GET URL; throws if the URL is not a well-formed dataset URL. */
export function parseV4Url(url: string): ParsedV4 {
  const u = new URL(url);
  if (u.protocol !== 'https:' || u.host !== 'storage.googleapis.com') throw new Error(`bad host in ${url}`);
  const rawPath = url.slice(`https://${u.host}`.length, url.indexOf('?'));
  if (rawPath !== u.pathname) throw new Error(`path is not canonical: ${rawPath}`);
  if (!OBJECT_PATH.test(u.pathname)) throw new Error(`not a dataset object: ${u.pathname}`);
  const params = [...u.searchParams.entries()];
  const keys = params.map(([k]) => k);
  if (new Set(keys).size !== keys.length) throw new Error('repeated query parameter');
  const q = Object.fromEntries(params);
  const signature = q['X-Goog-Signature'];
  if (!signature || !/^[0-9a-f]+$/.test(signature)) throw new Error('missing or non-hex signature');
  const [accessId, date, region, service, type, ...rest] = (q['X-Goog-Credential'] ?? '').split('/');
  if (rest.length || region !== 'auto' || service !== 'storage' || type !== 'goog4_request') {
    throw new Error(`bad credential scope ${q['X-Goog-Credential']}`);
  }
  const timestamp = q['X-Goog-Date'] ?? '';
  if (!/^\d{8}T\d{6}Z$/.test(timestamp) || timestamp.slice(0, 8) !== date) throw new Error('bad X-Goog-Date');
  if (q['X-Goog-SignedHeaders'] !== 'host') throw new Error('signed headers must be exactly host');
  const algorithm = q['X-Goog-Algorithm'] ?? '';
  const canonicalQuery = params
    .filter(([k]) => k !== 'X-Goog-Signature')
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    u.pathname,
    canonicalQuery,
    `host:${u.host}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const digest = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  const stringToSign = [algorithm, timestamp, `${date}/auto/storage/goog4_request`, digest].join('\n');
  return {
    algorithm,
    accessId: accessId ?? '',
    date: date ?? '',
    timestamp,
    expires: Number(q['X-Goog-Expires']),
    userProject: q.userProject ?? '',
    path: u.pathname,
    stringToSign,
    signature,
  };
}

/** True when an RSA-signed URL's signature verifies with the public key. */
export function verifyRsaUrl(url: string, publicKey: KeyObject): ParsedV4 & { valid: boolean } {
  const p = parseV4Url(url);
  if (p.algorithm !== 'GOOG4-RSA-SHA256') throw new Error(`algorithm ${p.algorithm}`);
  const valid = verify('sha256', Buffer.from(p.stringToSign), publicKey, Buffer.from(p.signature, 'hex'));
  return { ...p, valid };
}

/** True when an HMAC-signed URL's signature is what the secret gives. */
export function verifyHmacUrl(url: string, secret: string): ParsedV4 & { valid: boolean } {
  const p = parseV4Url(url);
  if (p.algorithm !== 'GOOG4-HMAC-SHA256') throw new Error(`algorithm ${p.algorithm}`);
  let key: Buffer | string = `GOOG4${secret}`;
  for (const part of [p.date, 'auto', 'storage', 'goog4_request']) {
    key = createHmac('sha256', key).update(part).digest();
  }
  const expected = createHmac('sha256', key).update(p.stringToSign).digest('hex');
  return { ...p, valid: expected === p.signature };
}
