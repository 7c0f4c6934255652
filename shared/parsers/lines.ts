import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FileFormatError } from './types.ts';

/** A line longer than this is not one of our formats (and would otherwise grow without bound). */
export const MAX_LINE_CHARS = 1 << 20;

type Chunk = Buffer | Uint8Array | string;

function toBuffer(c: Chunk): Buffer {
  return typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.isBuffer(c) ? c : Buffer.from(c);
}

/** Yields `first`, then the rest of `it`; closes `it` when the consumer stops early. */
async function* replay(first: Buffer, it: AsyncIterator<Chunk>): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    if (first.length > 0) yield first;
    for (let r = await it.next(); !r.done; r = await it.next()) yield toBuffer(r.value);
    finished = true;
  } finally {
    if (!finished) await it.return?.();
  }
}

function zlibError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'Z_BUF_ERROR')
    return new FileFormatError('truncated gzip: unexpected end of file', { cause: err });
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new FileFormatError(`invalid gzip data: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

/**
 * Decompresses (when the input starts with the gzip magic bytes 1f 8b) and decodes UTF-8 chunk by chunk.
 * A leading BOM is dropped by the decoder.
 */
export async function* decodedChunks(input: AsyncIterable<Chunk>): AsyncGenerator<string> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let n = 0;
  let ended = false;
  while (n < 2) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = toBuffer(r.value);
    head.push(b);
    n += b.length;
  }
  const first = Buffer.concat(head);
  const decoder = new TextDecoder('utf-8');
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
    const gunzip = createGunzip();
    // Errors of either side surface through the iteration of gunzip below.
    pipeline(Readable.from(replay(first, it)), gunzip, () => {});
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        const s = decoder.decode(chunk, { stream: true });
        if (s.length > 0) yield s;
      }
    } catch (err) {
      throw zlibError(err);
    }
  } else if (ended) {
    if (first.length > 0) yield decoder.decode(first, { stream: true });
  } else {
    for await (const chunk of replay(first, it)) {
      const s = decoder.decode(chunk, { stream: true });
      if (s.length > 0) yield s;
    }
  }
  const tail = decoder.decode();
  if (tail.length > 0) yield tail;
}

/**
 * Splits decoded text into physical lines (LF or CRLF; the line terminator is removed), yielded in batches
 * so that a consumer pays one await per chunk, not per line. Every physical line is in exactly one batch,
 * in order, blank ones included, so a running count gives 1-based line numbers. A final line without a
 * terminator is still a line; a final terminator does not start a new one.
 */
export async function* lineBatches(input: AsyncIterable<Chunk>): AsyncGenerator<string[]> {
  let carry = '';
  let lineNo = 0;
  for await (const text of decodedChunks(input)) {
    const s = carry.length > 0 ? carry + text : text;
    const lines: string[] = [];
    let start = 0;
    for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', start)) {
      const end = i > start && s.charCodeAt(i - 1) === 13 ? i - 1 : i;
      lines.push(s.slice(start, end));
      start = i + 1;
    }
    lineNo += lines.length;
    carry = start === 0 ? s : s.slice(start);
    if (carry.length > MAX_LINE_CHARS) {
      throw new FileFormatError(`line ${lineNo + 1} is longer than ${MAX_LINE_CHARS} characters`);
    }
    if (lines.length > 0) yield lines;
  }
  if (carry.length > 0) yield [carry.endsWith('\r') ? carry.slice(0, -1) : carry];
}
