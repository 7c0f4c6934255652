/**
 * A DICOMweb (WADO-RS) client for one store, streaming and bounded: every request has a deadline until the
 * response starts and between two chunks, every body a byte limit, and every failure of the store (refused
 * connection, 5xx, a timeout, a body that is not what was asked for) becomes DicomStoreUnavailableError
 * (503 with Retry-After); 401/403 become DicomAccessDeniedError naming how access is obtained.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError, NotFoundError } from '../http/errors.ts';
import type { DicomIdentity } from '../model/dicom.ts';
import type { DicomConfig } from './config.ts';
import { DicomAccessDeniedError, DicomStoreUnavailableError } from './errors.ts';
import { type InstanceUids, instancePath } from './links.ts';
import { firstPart, MultipartError, multipartBoundary } from './multipart.ts';

/** An access token for the store, or undefined for none. */
export type TokenSource = () => Promise<string | undefined>;

export type RenderedType = 'image/png' | 'image/jpeg';

export interface StreamedBody {
  contentType: string;
  /** The first bytes, already checked to be what was asked for; then `rest`. */
  head: Buffer;
  rest: AsyncIterable<Buffer>;
}

export interface DicomwebStore {
  readonly base: string;
  /** The instance's DICOM JSON (an array of one dataset). */
  metadata(id: DicomIdentity): Promise<unknown[]>;
  rendered(id: DicomIdentity, type: RenderedType): Promise<StreamedBody>;
  /** The Part 10 file, unwrapped from WADO-RS's multipart answer. */
  instance(id: DicomIdentity): Promise<StreamedBody>;
}

export type DicomwebOptions = Pick<DicomConfig, 'timeoutMs' | 'maxBytes' | 'maxMetadataBytes'> & {
  base: string;
  token: TokenSource;
};

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
/** A Part 10 file: 128-byte preamble, then `DICM`. */
const DICM_AT = 128;

/** Yields the chunks of `res`, failing once more than `max` bytes came. */
async function* limited(res: AsyncIterable<Buffer>, max: number, what: string): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of res) {
    n += chunk.length;
    if (n > max) throw new DicomStoreUnavailableError(`The DICOM store sent a ${what} over ${max} bytes.`);
    yield chunk;
  }
}

/** Reads from `it` until at least `n` bytes (or the end); returns them and an iterable of the rest. */
async function takeHead(
  source: AsyncIterable<Buffer>,
  n: number,
): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
    len += r.value.length;
  }
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => it };
  return { head: Buffer.concat(parts, len), rest };
}

function wrapStoreError(base: string, err: unknown): never {
  if (err instanceof AppError) throw err;
  if (err instanceof MultipartError) {
    throw new DicomStoreUnavailableError(
      `The DICOM store at ${base} sent a malformed answer: ${err.message}.`,
    );
  }
  const code = (err as { code?: string })?.code;
  throw new DicomStoreUnavailableError(
    `The DICOM store at ${base} did not answer${code ? ` (${code})` : ''}; try again later.`,
    err,
  );
}

/** The store's options with the base normalised (no trailing slash). */
type Ctx = DicomwebOptions & { base: string };

/** Sends an authorised GET; anything but 200 becomes the matching problem. */
async function get(o: Ctx, path: string, accept: string): Promise<IncomingMessage> {
  let token: string | undefined;
  try {
    token = await o.token();
  } catch (err) {
    throw new DicomStoreUnavailableError(
      'No access token for the DICOM store: the function has no usable Google credentials.',
      err,
    );
  }
  const url = new URL(o.base + path);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, {
      method: 'GET',
      headers: { Accept: accept, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      timeout: o.timeoutMs,
    });
    // Socket idle timeout: covers the wait for the response and every pause inside the body.
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (r) => {
      r.on('error', () => {}); // surfaced by the iterator
      resolve(r);
    });
    req.end();
  }).catch((err: unknown) => wrapStoreError(o.base, err));
  const status = res.statusCode ?? 0;
  if (status === 200) return res;
  res.resume();
  if (status === 401 || status === 403) throw new DicomAccessDeniedError(status, o.base);
  if (status === 404) throw new NotFoundError('The DICOM store has no such instance.');
  throw new DicomStoreUnavailableError(`The DICOM store at ${o.base} answered ${status}; try again later.`);
}

/** The body, limited, once its first bytes pass `check`; nothing is sent to the caller before that. */
async function streamed(
  o: Ctx,
  res: IncomingMessage,
  check: (head: Buffer) => boolean,
  what: string,
  contentType: string,
  body: AsyncIterable<Buffer> = res,
): Promise<StreamedBody> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > o.maxBytes + 64 * 1024) {
    res.destroy();
    throw new DicomStoreUnavailableError(
      `The DICOM store announced a ${what} of ${declared} bytes, over ${o.maxBytes}.`,
    );
  }
  try {
    const { head, rest } = await takeHead(limited(body, o.maxBytes, what), DICM_AT + 4);
    if (!check(head)) {
      res.destroy();
      throw new DicomStoreUnavailableError(`The DICOM store sent something that is not a ${what}.`);
    }
    return { contentType, head, rest };
  } catch (err) {
    res.destroy();
    return wrapStoreError(o.base, err);
  }
}

async function metadata(o: Ctx, id: InstanceUids): Promise<unknown[]> {
  const res = await get(o, `${instancePath(id)}/metadata`, 'application/dicom+json, application/json');
  const parts: Buffer[] = [];
  try {
    for await (const c of limited(res, o.maxMetadataBytes, 'metadata response')) parts.push(c);
  } catch (err) {
    res.destroy();
    return wrapStoreError(o.base, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new DicomStoreUnavailableError('The DICOM store sent metadata that is not JSON.');
  }
  if (!Array.isArray(json) || !json.every((d) => d !== null && typeof d === 'object' && !Array.isArray(d))) {
    throw new DicomStoreUnavailableError('The DICOM store sent metadata that is not a DICOM JSON array.');
  }
  return json;
}

const isDicom = (h: Buffer) =>
  h.length >= DICM_AT + 4 && h.toString('latin1', DICM_AT, DICM_AT + 4) === 'DICM';

async function instance(o: Ctx, id: InstanceUids): Promise<StreamedBody> {
  const res = await get(
    o,
    instancePath(id),
    'multipart/related; type="application/dicom"; transfer-syntax=*',
  );
  const boundary = multipartBoundary(res.headers['content-type']);
  if (boundary) return streamed(o, res, isDicom, 'DICOM file', 'application/dicom', firstPart(res, boundary));
  if (/^application\/dicom\s*(;|$)/i.test(res.headers['content-type'] ?? '')) {
    return streamed(o, res, isDicom, 'DICOM file', 'application/dicom');
  }
  res.destroy();
  throw new DicomStoreUnavailableError(
    `The DICOM store answered an instance request with ${res.headers['content-type'] ?? 'no content type'}.`,
  );
}

export function createDicomwebStore(options: DicomwebOptions): DicomwebStore {
  const o: Ctx = { ...options, base: options.base.replace(/\/+$/, '') };
  return {
    base: o.base,
    metadata: (id) => metadata(o, id),
    async rendered(id, type) {
      const res = await get(o, `${instancePath(id)}/rendered`, type);
      const magic = type === 'image/png' ? PNG_MAGIC : JPEG_MAGIC;
      const what = type === 'image/png' ? 'PNG image' : 'JPEG image';
      return streamed(o, res, (h) => h.subarray(0, magic.length).equals(magic), what, type);
    },
    instance: (id) => instance(o, id),
  };
}
