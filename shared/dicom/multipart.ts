/**
 * The first part of a multipart/related body (RFC 2387), streamed: WADO-RS answers an instance request with
 * one part, `application/dicom`. Memory is bounded by the part headers (MAX_PART_HEADER) and one boundary.
 */

const MAX_PART_HEADER = 16 * 1024;

export class MultipartError extends Error {
  override readonly name = 'MultipartError';
}

/** The boundary parameter of a multipart Content-Type, or undefined when it is not multipart. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** Yields the body of the first part; throws MultipartError when the stream is not a complete part. */
export async function* firstPart(chunks: AsyncIterable<Buffer>, boundary: string): AsyncGenerator<Buffer> {
  const open = Buffer.from(`--${boundary}`);
  const close = Buffer.from(`\r\n--${boundary}`);
  let pending: Buffer = Buffer.alloc(0);
  let inBody = false;
  for await (const chunk of chunks) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    if (!inBody) {
      const start = pending.indexOf(open);
      const headerEnd = start < 0 ? -1 : pending.indexOf('\r\n\r\n', start + open.length);
      if (headerEnd < 0) {
        if (pending.length > MAX_PART_HEADER) {
          throw new MultipartError(`no multipart part header within the first ${MAX_PART_HEADER} bytes`);
        }
        continue;
      }
      inBody = true;
      pending = pending.subarray(headerEnd + 4);
    }
    const end = pending.indexOf(close);
    if (end >= 0) {
      if (end > 0) yield pending.subarray(0, end);
      return;
    }
    // Keep what could be the start of the closing delimiter for the next chunk.
    const keep = Math.min(pending.length, close.length - 1);
    if (pending.length > keep) yield pending.subarray(0, pending.length - keep);
    pending = Buffer.from(pending.subarray(pending.length - keep));
  }
  throw new MultipartError(inBody ? 'the multipart body ended inside its first part' : 'no multipart part');
}
