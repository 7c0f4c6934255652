/**
 * The Cloud Storage calls the upload function makes, over the JSON API with node:http(s) instead of
 * @google-cloud/storage (100-160 ms of import on a cold instance, for three calls): stream one object
 * generation (`alt=media`), copy one generation server-side (`rewriteTo`, repeated while Storage asks for
 * more), and write a small object in one request (`uploadType=media`).
 *
 * As the SDK does: reads ask for gzip as stored (`Accept-Encoding: gzip`) and decompress it here, and check
 * the bytes against the MD5 that Storage sends (`x-goog-hash`; composite objects have none, and are not
 * checked); a mismatch is an error with code CONTENT_DOWNLOAD_MISMATCH. An HTTP error is a StorageRestError
 * whose `code` is the HTTP status, like the SDK's ApiError (a 404 means the generation is gone); a
 * connection that cannot be made is a GoogleRestError with gRPC code UNAVAILABLE; a connection cut while
 * reading keeps Node's code (ECONNRESET...). Every request has a socket timeout.
 *
 * Credentials: none against the emulator (STORAGE_EMULATOR_HOST, plain HTTP); in the cloud the instance's
 * token (shared/google/rest-http.ts), with the devstorage.read_write scope. With `google` (GoogleEnv, read
 * once at start-up): GCE_METADATA_HOST's metadata server, a GOOGLE_APPLICATION_CREDENTIALS key file first,
 * and HTTPS_PROXY / NO_PROXY for storage.googleapis.com, as the cohorts and signer clients honour them.
 */
import { createHash } from 'node:crypto';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { apiTokenSource, type GoogleEnv } from './google-env.ts';
import {
  GoogleRestError,
  lazyAgents,
  METADATA,
  nodeHttp,
  nodeHttps,
  preconnect,
  type Response,
  send,
  type TokenSource,
  UNAVAILABLE,
} from './rest-http.ts';

const ENDPOINT = 'https://storage.googleapis.com';
const SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';
/** Rounds of one rewrite before giving up (Storage copies within a location and class in one). */
const MAX_REWRITE_ROUNDS = 100;

/** Storage answered with an HTTP error; `code` is the HTTP status, as in the SDK's ApiError. */
export class StorageRestError extends Error {
  override readonly name = 'StorageRestError';
  readonly code: number;
  constructor(message: string, status: number) {
    super(message);
    this.code = status;
  }
}

export interface ObjectStore {
  /** The bytes of one object generation (decompressed if stored with Content-Encoding: gzip). */
  read(bucket: string, name: string, generation: string): Readable;
  /** Copies one generation to another name of the same bucket, server-side. */
  copy(bucket: string, name: string, generation: string, to: string): Promise<void>;
  /** Writes a small object (overwriting) in one request. */
  save(bucket: string, name: string, body: string, contentType: string): Promise<void>;
  /** Starts fetching the access token (the cloud's metadata server); errors are left for the first call. */
  warm(): void;
}

export interface RestStorageOptions {
  /** STORAGE_EMULATOR_HOST: `http://host:port` (or `host:port`): plain HTTP, no credentials. */
  emulatorHost?: string | undefined;
  /** A request with no bytes for this long fails (ETIMEDOUT); default 60 s. */
  timeoutMs?: number;
  /** Metadata server, key file and proxy (loadGoogleEnv() at start-up); default: none of them set. */
  google?: GoogleEnv | undefined;
  /** Tests: the Storage endpoint and the metadata server (defaults: Google's, or google.metadataUrl). */
  endpoint?: string;
  metadataUrl?: string;
}

const enc = encodeURIComponent;

function errorOf(status: number, body: string, what: string): StorageRestError {
  let message = body.slice(0, 300);
  try {
    message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // not JSON (the emulator's 404 for a download is plain text)
  }
  return new StorageRestError(`${what}: HTTP ${status} ${message}`.trim(), status);
}

/** The base64 MD5 of `x-goog-hash: crc32c=...,md5=...`, if any. */
function md5Of(header: string | string[] | undefined): string | undefined {
  const all = Array.isArray(header) ? header.join(',') : (header ?? '');
  return /(?:^|,)\s*md5=([A-Za-z0-9+/=]+)/.exec(all)?.[1];
}

async function text(res: IncomingMessage, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    if (n < max) parts.push(c.subarray(0, max - n));
    n += c.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** One GET whose response is handed over at its headers (the body is the caller's to read). */
function open(
  url: URL,
  headers: Record<string, string>,
  agent: HttpAgent,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? nodeHttps().request : nodeHttp().request;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, agent, signal }, resolve);
    req.setTimeout(timeoutMs, () =>
      req.destroy(
        Object.assign(new Error(`no bytes from ${url.host} in ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      ),
    );
    req.on('error', (err) =>
      reject(new GoogleRestError(`${url.host} unreachable: ${err.message}`, UNAVAILABLE, undefined, err)),
    );
    req.end();
  });
}

/** The body, MD5-checked against `want` once it ended. */
async function* checked(
  res: IncomingMessage,
  want: string | undefined,
  what: string,
): AsyncGenerator<Buffer> {
  const hash = want ? createHash('md5') : undefined;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    hash?.update(chunk);
    yield chunk;
  }
  const got = hash?.digest('base64');
  if (got !== want) {
    throw Object.assign(new Error(`${what}: MD5 ${got} of the bytes read, Storage says ${want}`), {
      code: 'CONTENT_DOWNLOAD_MISMATCH',
    });
  }
}

async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const z = createGunzip();
  pipeline(Readable.from(source, { objectMode: false }), z, () => {});
  try {
    yield* z as AsyncIterable<Buffer>;
  } finally {
    z.destroy();
  }
}

/** The API root without a trailing slash: the emulator's (`host:port` is plain HTTP), else the endpoint. */
function storageRoot(opts: RestStorageOptions): string {
  const emulator = opts.emulatorHost;
  if (!emulator) return (opts.endpoint ?? ENDPOINT).replace(/\/+$/, '');
  return (/^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`).replace(/\/+$/, '');
}

/** A Cloud Storage JSON API client; create one per instance (it keeps its connections and token). */
export function createRestStorage(opts: RestStorageOptions = {}): ObjectStore {
  const emulator = opts.emulatorHost;
  const root = storageRoot(opts);
  const g = opts.google;
  const agents = lazyAgents(root, emulator ? {} : g?.proxyEnv);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const metadata = opts.metadataUrl ?? g?.metadataUrl ?? METADATA;
  const token: TokenSource | undefined = emulator
    ? undefined
    : apiTokenSource(g, metadata, agents.metadataAgent, SCOPE);
  const auth = async (): Promise<Record<string, string>> =>
    token ? { authorization: `Bearer ${await token()}` } : {};

  async function* download(bucket: string, name: string, generation: string, signal: AbortSignal) {
    const what = `Storage read gs://${bucket}/${name}#${generation}`;
    const url = new URL(
      `${root}/storage/v1/b/${enc(bucket)}/o/${enc(name)}?alt=media&generation=${enc(generation)}`,
    );
    const headers = { ...(await auth()), 'accept-encoding': 'gzip' };
    const res = await open(url, headers, agents.agent(), timeoutMs, signal);
    try {
      if (res.statusCode !== 200) throw errorOf(res.statusCode ?? 0, await text(res, 64 << 10), what);
      const body = checked(res, md5Of(res.headers['x-goog-hash']), what);
      yield* res.headers['content-encoding'] === 'gzip' ? gunzip(body) : body;
    } finally {
      // Cut short (an error, the reader stopped): close the socket; a body read to its end keeps it alive.
      if (!res.complete) res.destroy();
    }
  }

  const post = async (url: URL, body: string, contentType: string, what: string): Promise<Response> => {
    const headers = {
      ...(await auth()),
      'content-type': contentType,
      'content-length': String(Buffer.byteLength(body)),
    };
    const res = await send(url, 'POST', headers, body, agents.agent, 1 << 20, timeoutMs);
    if (res.status !== 200) throw errorOf(res.status, res.body, what);
    return res;
  };

  return {
    warm() {
      preconnect(root, agents.agent);
      void token?.().catch(() => undefined);
    },

    read(bucket, name, generation) {
      const abort = new AbortController();
      const stream = Readable.from(download(bucket, name, generation, abort.signal), { objectMode: false });
      // Destroyed before the end (the reader stopped early): the request goes too, and its socket with it.
      stream.once('close', () => abort.abort());
      return stream;
    },

    async copy(bucket, name, generation, to) {
      const what = `Storage copy gs://${bucket}/${name}#${generation} to ${to}`;
      const path = `${root}/storage/v1/b/${enc(bucket)}/o/${enc(name)}/rewriteTo/b/${enc(bucket)}/o/${enc(to)}`;
      let rewriteToken: string | undefined;
      for (let round = 0; round < MAX_REWRITE_ROUNDS; round++) {
        const url = new URL(`${path}?sourceGeneration=${enc(generation)}`);
        if (rewriteToken) url.searchParams.set('rewriteToken', rewriteToken);
        const res = await post(url, '{}', 'application/json', what);
        const r = JSON.parse(res.body) as { done?: boolean; rewriteToken?: string };
        if (r.done) return;
        rewriteToken = r.rewriteToken;
      }
      throw new StorageRestError(`${what}: not done after ${MAX_REWRITE_ROUNDS} rewrite calls`, 503);
    },

    async save(bucket, name, body, contentType) {
      const url = new URL(`${root}/upload/storage/v1/b/${enc(bucket)}/o?uploadType=media&name=${enc(name)}`);
      await post(url, body, contentType, `Storage write gs://${bucket}/${name}`);
    },
  };
}
