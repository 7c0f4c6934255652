/** STOW-RS (PS3.18 10.5): stores Part 10 files into a DICOMweb store in one multipart request. */
import { randomBytes } from 'node:crypto';

export interface StowResult {
  status: number;
  /** The store's DICOM JSON answer (ReferencedSOPSequence / FailedSOPSequence), when it sent one. */
  body: unknown;
}

export async function stowRs(
  dicomweb: string,
  files: readonly Buffer[],
  o: { token?: string | undefined; timeoutMs?: number } = {},
): Promise<StowResult> {
  const boundary = `nih-cxr-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      f,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const res = await fetch(`${dicomweb.replace(/\/+$/, '')}/studies`, {
    method: 'POST',
    headers: {
      'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      Accept: 'application/dicom+json',
      ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}),
    },
    body: Buffer.concat(parts),
    signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text.slice(0, 500);
  }
  return { status: res.status, body };
}
