/** Byte-stream helpers for content sniffing: look at the first bytes without losing them. */
import { createHash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UploadRejection } from './errors.ts';

export type ByteSource = AsyncIterable<Uint8Array>;

function toBuffer(c: Uint8Array): Buffer {
  return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

export interface Peeked {
  /** The bytes read so far (at least `min` unless the stream ended first). */
  head: Buffer;
  /** True when `head` is the whole stream. */
  ended: boolean;
  /** The whole stream again, from its first byte; iterate it once. */
  stream: AsyncIterable<Buffer>;
}

/**
 * Reads until `done(head)` holds or `max` bytes or the end, and hands back what was read plus the rest.
 * `done` defaults to "at least `max` bytes".
 */
export async function peek(
  source: ByteSource,
  max: number,
  done?: (head: Buffer) => boolean,
): Promise<Peeked> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  let ended = false;
  let head: Buffer = Buffer.alloc(0);
  while (length < max) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    parts.push(toBuffer(r.value));
    length += r.value.byteLength;
    head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (done?.(head)) break;
  }
  const first = head;
  async function* replay(): AsyncGenerator<Buffer> {
    let finished = ended;
    try {
      if (first.length > 0) yield first;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield toBuffer(r.value);
      finished = true;
    } finally {
      if (!finished) await it.return?.();
    }
  }
  return { head, ended, stream: replay() };
}

/** Counts and hashes (sha256) the bytes flowing through; the digest is complete once the stream ended. */
export class ByteTap {
  readonly #hash = createHash('sha256');
  bytes = 0;
  complete = false;

  async *wrap(source: ByteSource): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      const b = toBuffer(chunk);
      this.#hash.update(b);
      this.bytes += b.length;
      yield b;
    }
    this.complete = true;
  }

  /** Hex sha256 of every byte, or undefined when the stream was not read to its end. */
  sha256(): string | undefined {
    return this.complete ? this.#hash.copy().digest('hex') : undefined;
  }
}

const ZLIB_CODES = new Set([
  'Z_BUF_ERROR',
  'Z_DATA_ERROR',
  'Z_STREAM_ERROR',
  'Z_NEED_DICT',
  'ERR_ZLIB_INITIALIZATION_FAILED',
]);

/** Decompresses gzip; a corrupt or truncated gzip becomes an UploadRejection, source errors pass through. */
export async function* gunzipped(source: ByteSource): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  // Errors of either side surface through the iteration below; a source error keeps its own code.
  pipeline(Readable.from(source, { objectMode: false }), gunzip, () => {});
  let out = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      out += chunk.length;
      yield chunk;
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'Z_BUF_ERROR') {
      throw new UploadRejection(
        `truncated gzip: the compressed data ends early (after ${out} bytes of content)`,
      );
    }
    if (ZLIB_CODES.has(code)) throw new UploadRejection(`invalid gzip data: ${(err as Error).message}`);
    throw err;
  } finally {
    gunzip.destroy();
  }
}

/**
 * Content (after gunzip) one upload may have: seven times the largest NIH file (9 MB uncompressed), and a
 * bound on the time one upload can take (a label file is parsed at about 20 MB/s).
 */
export const MAX_CONTENT_BYTES = 64 * 1024 * 1024;

/** Data rows (blank lines aside) one label file may have: the largest NIH file has 112,120. */
export const MAX_UPLOAD_ROWS = 250_000;

/** Passes `source` through and rejects the upload once more than `max` bytes came out of it. */
export async function* capped(
  source: AsyncIterable<Buffer>,
  max: number,
  what: string,
): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > max) throw new UploadRejection(`${what} is larger than ${max} bytes`, max);
    yield chunk;
  }
}
