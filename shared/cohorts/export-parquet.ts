import type { SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { attribution } from '../model/attribution.ts';
import type { CohortExportRow } from './results.ts';

/**
 * Parquet export with hyparquet-writer (pure JavaScript, one small dependency, row groups written one at a
 * time): typed columns (findings as a list of strings, booleans, 32-bit integers, nullable where a value may
 * be missing), one row group per batch of rows, and the attribution in the file's key-value metadata. The
 * bytes of each row group leave as soon as it is written, so memory holds one row group.
 */
export interface ParquetRow {
  row: CohortExportRow;
  url: string;
  expiresAt: string | null;
  links?: { dicomweb: string | null; viewer: string } | null;
}

type Leaf = 'string' | 'int' | 'bool';
interface Col {
  name: string;
  kind: Leaf | 'list';
  optional: boolean;
  get: (x: ParquetRow) => unknown;
}

const COLUMNS: Col[] = [
  { name: 'imageId', kind: 'string', optional: false, get: (x) => x.row.imageId },
  { name: 'patientId', kind: 'int', optional: false, get: (x) => x.row.patientId },
  { name: 'followUp', kind: 'int', optional: false, get: (x) => x.row.followUp },
  { name: 'patientAge', kind: 'int', optional: true, get: (x) => x.row.patientAge },
  { name: 'patientSex', kind: 'string', optional: false, get: (x) => x.row.patientSex },
  { name: 'viewPosition', kind: 'string', optional: false, get: (x) => x.row.viewPosition },
  { name: 'split', kind: 'string', optional: false, get: (x) => x.row.split },
  { name: 'findings', kind: 'list', optional: false, get: (x) => x.row.findings },
  { name: 'hasBoundingBox', kind: 'bool', optional: false, get: (x) => x.row.hasBoundingBox },
  { name: 'url', kind: 'string', optional: false, get: (x) => x.url },
  { name: 'urlExpiresAt', kind: 'string', optional: true, get: (x) => x.expiresAt },
  { name: 'ffSet', kind: 'string', optional: true, get: (x) => x.row.fourFindings?.set ?? null },
  { name: 'ffFracture', kind: 'bool', optional: true, get: (x) => x.row.fourFindings?.fracture ?? null },
  {
    name: 'ffPneumothorax',
    kind: 'bool',
    optional: true,
    get: (x) => x.row.fourFindings?.pneumothorax ?? null,
  },
  {
    name: 'ffAirspaceOpacity',
    kind: 'bool',
    optional: true,
    get: (x) => x.row.fourFindings?.airspaceOpacity ?? null,
  },
  {
    name: 'ffNoduleOrMass',
    kind: 'bool',
    optional: true,
    get: (x) => x.row.fourFindings?.noduleOrMass ?? null,
  },
  { name: 'afAbnormal', kind: 'bool', optional: true, get: (x) => x.row.allFindings?.abnormal ?? null },
  { name: 'afOther', kind: 'bool', optional: true, get: (x) => x.row.allFindings?.other ?? null },
  { name: 'afFindings', kind: 'list', optional: true, get: (x) => x.row.allFindings?.findings ?? null },
];
const PART: Col = { name: 'part', kind: 'string', optional: false, get: (x) => x.row.part ?? '' };
/** With `links`: the instance's WADO-RS URL and the viewer link, null where the image has no DICOM identity. */
const LINKS: Col[] = [
  { name: 'dicomweb', kind: 'string', optional: true, get: (x) => x.links?.dicomweb ?? null },
  { name: 'viewer', kind: 'string', optional: true, get: (x) => x.links?.viewer ?? null },
];

function schemaOf(cols: readonly Col[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'root', num_children: cols.length }];
  for (const c of cols) {
    const repetition_type = c.optional ? 'OPTIONAL' : 'REQUIRED';
    if (c.kind === 'list') {
      out.push(
        { name: c.name, repetition_type, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      );
    } else if (c.kind === 'string') {
      out.push({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type });
    } else {
      out.push({ name: c.name, type: c.kind === 'int' ? 'INT32' : 'BOOLEAN', repetition_type });
    }
  }
  return out;
}

/** Attribution as key-value metadata: `attribution` (JSON) and `attribution.notice` (plain text). */
export function parquetAttribution(): { key: string; value: string }[] {
  const a = attribution();
  return [
    { key: 'attribution', value: JSON.stringify(a) },
    { key: 'attribution.notice', value: a.notice },
  ];
}

/** The Parquet file as byte chunks: one chunk per row group of `rowGroupRows`, then the footer. */
export async function* parquetChunks(
  rows: AsyncIterable<ParquetRow[]>,
  o: { part: boolean; rowGroupRows: number; links?: boolean },
): AsyncGenerator<Uint8Array> {
  const cols = [...COLUMNS, ...(o.links ? LINKS : []), ...(o.part ? [PART] : [])];
  const writer = new ByteWriter();
  const take = (): Uint8Array => {
    const bytes = writer.getBytes().slice();
    writer.index = 0;
    return bytes;
  };
  const pw = new ParquetWriter({ writer, schema: schemaOf(cols), kvMetadata: parquetAttribution() });
  let group: ParquetRow[] = [];
  const write = () => {
    pw.write({
      columnData: cols.map((c) => ({ name: c.name, data: group.map(c.get) })),
      rowGroupSize: group.length,
    });
    group = [];
  };
  for await (const batch of rows) {
    for (const x of batch) {
      group.push(x);
      if (group.length >= o.rowGroupRows) {
        write();
        yield take();
      }
    }
  }
  if (group.length) write();
  pw.finish();
  yield take();
}
