import { AppError } from '../http/errors.ts';
import { attribution, attributionLines, gsUri, type ImageFormat, type ImageId } from '../model/index.ts';
import type { UrlSigner } from '../signing/url-signer.ts';
import type { CohortExportRow } from './results.ts';

export type ExportFormat = 'csv' | 'ndjson';

export interface ExportOptions {
  format: ExportFormat;
  urls: 'gs' | 'signed';
  imageFormat: ImageFormat;
  expiresInSeconds: number;
  /** Required for urls: 'signed'. */
  signer?: UrlSigner | undefined;
  /** Rows signed per signMany call (and so held at once); default 500. */
  signBatch?: number;
  /** Output chunk size in characters; default 64 KiB. */
  chunkChars?: number;
}

export const CSV_COLUMNS = [
  'imageId',
  'patientId',
  'followUp',
  'patientAge',
  'patientSex',
  'viewPosition',
  'split',
  'findings',
  'hasBoundingBox',
  'url',
  'urlExpiresAt',
] as const;

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

interface Located {
  row: CohortExportRow;
  url: string;
  expiresAt: string | null;
}

function csvLine(x: Located): string {
  const r = x.row;
  return [
    r.imageId,
    String(r.patientId),
    String(r.followUp),
    r.patientAge === null ? '' : String(r.patientAge),
    r.patientSex,
    r.viewPosition,
    r.split,
    r.findings.join('|'),
    String(r.hasBoundingBox),
    x.url,
    x.expiresAt ?? '',
  ]
    .map(csvField)
    .join(',');
}

function ndjsonLine(x: Located): string {
  return JSON.stringify({ ...x.row, url: x.url, ...(x.expiresAt ? { urlExpiresAt: x.expiresAt } : {}) });
}

/**
 * Refuses, before anything is streamed, a signed export that would sign more rows than the signer can in the
 * function's time: on the IAM path each URL is a signBlob round trip (SIGNED_EXPORT_IAM_MAX_ROWS). HMAC and
 * key-file signers sign locally and have no cap. A 422 whose detail says what works instead.
 */
export function assertSignedExportFits(
  totalImages: number,
  signer: 'iam' | 'key' | 'hmac' | undefined,
  iamMaxRows: number,
): void {
  if (signer !== 'iam' || totalImages <= iamMaxRows) return;
  throw new AppError(
    422,
    'Unprocessable Content',
    `This cohort has ${totalImages} images; a signed export on this deployment signs at most ${iamMaxRows} ` +
      '(each URL is one IAM signBlob call, and the export must end inside the function timeout). ' +
      'Export with urls: "gs" (gs:// URIs, then sign in batches with POST /v1/images:signUrls), narrow the ' +
      'filter, or configure an HMAC key (HMAC_ACCESS_ID, HMAC_SECRET), which has no such cap.',
    {
      errors: [
        {
          path: 'body.urls',
          message: `signed export of ${totalImages} images is over the cap of ${iamMaxRows} on the IAM path (SIGNED_EXPORT_IAM_MAX_ROWS); use urls: "gs" or HMAC signing`,
        },
      ],
    },
  );
}

/** Adds each row's URL: gs:// directly, or V4 signed URLs in batches (so memory stays bounded). */
async function* locate(rows: AsyncIterable<CohortExportRow>, o: ExportOptions): AsyncGenerator<Located[]> {
  const size = o.urls === 'signed' ? (o.signBatch ?? 500) : 1000;
  let batch: CohortExportRow[] = [];
  const flush = async (): Promise<Located[]> => {
    const rowsNow = batch;
    batch = [];
    if (o.urls === 'gs') {
      return rowsNow.map((row) => ({
        row,
        url: gsUri(row.imageId as ImageId, o.imageFormat),
        expiresAt: null,
      }));
    }
    if (!o.signer) throw new Error('signed export without a signer');
    const signed = await o.signer.signMany(
      rowsNow.map((r) => r.imageId as ImageId),
      o.imageFormat,
      o.expiresInSeconds,
    );
    const byId = new Map(signed.map((s) => [s.imageId as string, s]));
    return rowsNow.map((row) => {
      const s = byId.get(row.imageId);
      if (!s) throw new Error(`signer returned no URL for ${row.imageId}`);
      return { row, url: s.url, expiresAt: s.expiresAt };
    });
  };
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) yield await flush();
  }
  if (batch.length) yield await flush();
}

/**
 * The export manifest as text chunks: the attribution first (CSV: `# ` comment lines before the header;
 * NDJSON: a first `{"attribution": ...}` line), then one line per image. The first chunk is only produced
 * once the first rows (or the end) are known, so a failing store fails before anything is sent.
 */
export async function* exportChunks(
  rows: AsyncIterable<CohortExportRow>,
  o: ExportOptions,
): AsyncGenerator<string> {
  const limit = o.chunkChars ?? 64 * 1024;
  let buf =
    o.format === 'csv'
      ? `${attributionLines('# ').join('\n')}\n${CSV_COLUMNS.join(',')}\n`
      : `${JSON.stringify({ attribution: attribution() })}\n`;
  const line = o.format === 'csv' ? csvLine : ndjsonLine;
  for await (const located of locate(rows, o)) {
    for (const x of located) {
      buf += `${line(x)}\n`;
      if (buf.length >= limit) {
        yield buf;
        buf = '';
      }
    }
  }
  if (buf) yield buf;
}
