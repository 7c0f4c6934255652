import { dicomLinks, type LinkConfig } from '../dicom/links.ts';
import { AppError } from '../http/errors.ts';
import { attribution, attributionLines } from '../model/attribution.ts';
import { gsUri, type ImageFormat } from '../model/gcs.ts';
import type { ImageId } from '../model/ids.ts';
import type { UrlSigner } from '../signing/url-signer.ts';
import { NIH_CSV_EOL, type NihCsvLayout, nihCsvHeader, nihCsvLine } from './export-nih-csv.ts';
import type { CohortExportRow } from './results.ts';

export type ExportFormat = 'csv' | 'ndjson' | 'nih-csv' | 'parquet';

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
  /** nih-csv: the layout of the metadata file the deployment serves (METADATA_VERSION); default v2020. */
  nihLayout?: NihCsvLayout | undefined;
  /** The rows carry a split part: every format adds a `part` column. */
  part?: boolean;
  /** parquet: rows per row group; default 10,000 (a BigQuery result page). */
  rowGroupRows?: number;
  /** Adds the `dicomweb` and `viewer` columns (empty where an image has no DICOM identity). */
  dicomLinks?: LinkConfig | undefined;
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
  'ffSet',
  'ffFracture',
  'ffPneumothorax',
  'ffAirspaceOpacity',
  'ffNoduleOrMass',
  'afAbnormal',
  'afOther',
  'afFindings',
] as const;

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson; charset=utf-8',
  'nih-csv': 'text/csv; charset=utf-8; header=present',
  parquet: 'application/vnd.apache.parquet',
};

/** File name extension of each format (Content-Disposition). */
export const EXPORT_EXTENSIONS: Record<ExportFormat, string> = {
  csv: 'csv',
  ndjson: 'ndjson',
  'nih-csv': 'csv',
  parquet: 'parquet',
};

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

interface Located {
  row: CohortExportRow;
  url: string;
  expiresAt: string | null;
  /** With ExportOptions.dicomLinks: the image's links, null without a DICOM identity. */
  links?: { dicomweb: string | null; viewer: string } | null;
}

const flag = (b: boolean | undefined): string => (b === undefined ? '' : String(b));

function csvLine(x: Located, links: boolean): string {
  const r = x.row;
  const ff = r.fourFindings;
  const af = r.allFindings;
  const fields = [
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
    ff?.set ?? '',
    flag(ff?.fracture),
    flag(ff?.pneumothorax),
    flag(ff?.airspaceOpacity),
    flag(ff?.noduleOrMass),
    flag(af?.abnormal),
    flag(af?.other),
    af ? af.findings.join('|') : '',
  ];
  if (links) fields.push(x.links?.dicomweb ?? '', x.links?.viewer ?? '');
  if (r.part !== undefined) fields.push(r.part);
  return fields.map(csvField).join(',');
}

function ndjsonLine(x: Located): string {
  const { nih: _nih, dicom: _dicom, ...row } = x.row;
  return JSON.stringify({
    ...row,
    url: x.url,
    ...(x.expiresAt ? { urlExpiresAt: x.expiresAt } : {}),
    ...(x.links === undefined ? {} : { links: x.links }),
  });
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
  const links = o.dicomLinks;
  const withLinks = (located: Located[]): Located[] =>
    links
      ? located.map((x) => ({
          ...x,
          links: x.row.dicom ? dicomLinks(x.row.imageId, x.row.dicom, links) : null,
        }))
      : located;
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) yield withLinks(await flush());
  }
  if (batch.length) yield withLinks(await flush());
}

/**
 * The export manifest as chunks: the attribution first (CSV: `# ` comment lines before the header; NDJSON: a
 * first `{"attribution": ...}` line; Parquet: the file's key-value metadata; nih-csv: none, it travels in the
 * response headers), then one line (row) per image. The first chunk is only produced once the first rows (or
 * the end) are known, so a failing store fails before anything is sent.
 */
export async function* exportChunks(
  rows: AsyncIterable<CohortExportRow>,
  o: ExportOptions,
): AsyncGenerator<string | Uint8Array> {
  if (o.format === 'parquet') {
    // Loaded on the first Parquet export only: the writer stays out of the function's cold start.
    const { parquetChunks } = await import('./export-parquet.ts');
    yield* parquetChunks(locate(rows, o), {
      part: o.part === true,
      rowGroupRows: o.rowGroupRows ?? 10_000,
      links: o.dicomLinks !== undefined,
    });
    return;
  }
  const limit = o.chunkChars ?? 64 * 1024;
  const layout = o.nihLayout ?? 'v2020';
  const eol = o.format === 'nih-csv' ? NIH_CSV_EOL[layout] : '\n';
  const csvHeader = () =>
    [...CSV_COLUMNS, ...(o.dicomLinks ? ['dicomweb', 'viewer'] : []), ...(o.part ? ['part'] : [])].join(',');
  let buf =
    o.format === 'csv'
      ? `${attributionLines('# ').join('\n')}\n${csvHeader()}\n`
      : o.format === 'nih-csv'
        ? `${nihCsvHeader(layout, o.part === true)}${eol}`
        : `${JSON.stringify({ attribution: attribution() })}\n`;
  const line =
    o.format === 'csv'
      ? (x: Located) => csvLine(x, o.dicomLinks !== undefined)
      : o.format === 'nih-csv'
        ? (x: Located) => nihCsvLine(x.row, layout)
        : ndjsonLine;
  for await (const located of locate(rows, o)) {
    for (const x of located) {
      buf += `${line(x)}${eol}`;
      if (buf.length >= limit) {
        yield buf;
        buf = '';
      }
    }
  }
  if (buf) yield buf;
}
