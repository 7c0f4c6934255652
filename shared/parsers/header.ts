import { FINDINGS } from '../model/findings.ts';
import { splitCsv } from './csv.ts';
import type { FileKind } from './types.ts';

/** A column as the header names it; `width` data fields (`OriginalImage[Width,Height]` is 2 fields wide). */
interface ColumnSpec {
  key: string;
  display: string;
  names: readonly string[];
  width: number;
}

/** Where each logical column starts in a data row of this file, and how many fields a row has. */
export interface HeaderLayout {
  kind: FileKind;
  fields: number;
  at: Readonly<Record<string, number>>;
  display: Readonly<Record<string, string>>;
}

function col(key: string, display: string, ...alt: string[]): ColumnSpec {
  const width = /\[([^\]]*)\]/.exec(display)?.[1]?.split(',').length ?? 1;
  return { key, display, names: [display, ...alt].map(normaliseName), width };
}

/** Lower case, single spaces, no spaces around brackets and commas: `Bbox [x, y,w,h]` -> `bbox[x,y,w,h]`. */
function normaliseName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*([[\],])\s*/g, '$1');
}

const METADATA = [
  col('imageId', 'Image Index'),
  col('findings', 'Finding Labels'),
  col('followUp', 'Follow-up #'),
  col('patientId', 'Patient ID'),
  col('age', 'Patient Age'),
  col('sex', 'Patient Gender'),
  col('view', 'View Position'),
  col('size', 'OriginalImage[Width,Height]'),
  col('spacing', 'OriginalImagePixelSpacing[x,y]'),
];
const FOUR = [
  col('fracture', 'Fracture'),
  col('pneumothorax', 'Pneumothorax'),
  col('airspaceOpacity', 'Airspace opacity'),
];
const ALL = [
  col('abnormal', 'Abnormal'),
  ...FINDINGS.map((f) => col(f, f.replace('_', ' '), f)),
  col('other', 'Other'),
];
const IMAGE_ID = col('imageId', 'Image ID');
const PATIENT_ID = col('patientId', 'Patient ID');
const READER_ID = col('readerId', 'Reader ID');

const SPECS: Record<Exclude<FileKind, 'image_list'>, ColumnSpec[]> = {
  metadata_v2020: METADATA,
  metadata_2017: METADATA,
  bounding_boxes: [
    col('imageId', 'Image Index'),
    col('finding', 'Finding Label'),
    col('box', 'Bbox [x,y,w,h]'),
  ],
  four_findings_labels: [
    ...METADATA,
    ...FOUR,
    col('noduleOrMass', 'Nodule or mass', 'Nodule/mass'),
    col('set', 'Set Id'),
  ],
  four_findings_readers: [
    PATIENT_ID,
    IMAGE_ID,
    READER_ID,
    ...FOUR,
    col('noduleOrMass', 'Nodule/mass', 'Nodule or mass'),
    col('set', 'Set ID'),
  ],
  all_findings_labels: [IMAGE_ID, PATIENT_ID, ...ALL],
  all_findings_readers: [IMAGE_ID, PATIENT_ID, READER_ID, ...ALL],
};

/** Header names, with the unquoted bracket columns (`OriginalImage[Width,Height]`) joined back together. */
function headerNames(line: string): { names: string[]; trailingEmpty: number } | undefined {
  const tokens = splitCsv(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line);
  if (!tokens) return undefined;
  const names: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    let name = tokens[i]!;
    while (name.includes('[') && !name.includes(']') && i + 1 < tokens.length) name += `,${tokens[++i]}`;
    names.push(normaliseName(name));
  }
  let trailingEmpty = 0;
  while (names.length > 0 && names[names.length - 1] === '') {
    names.pop();
    trailingEmpty++;
  }
  return { names, trailingEmpty };
}

function guessKind(names: Set<string>, trailingEmpty: number): Exclude<FileKind, 'image_list'> | undefined {
  if (names.has('abnormal')) return names.has('reader id') ? 'all_findings_readers' : 'all_findings_labels';
  if (names.has('reader id')) return 'four_findings_readers';
  if (names.has('fracture') || names.has('set id')) return 'four_findings_labels';
  if (names.has('finding label') || [...names].some((n) => n.startsWith('bbox'))) return 'bounding_boxes';
  // The two metadata headers differ only in the trailing comma of Data_Entry_2017.csv.
  if (names.has('image index') && names.has('finding labels')) {
    return trailingEmpty > 0 ? 'metadata_2017' : 'metadata_v2020';
  }
  return undefined;
}

const IMAGE_LIST_LINE = /^\s*\d{8}_\d{3}(?:\.png)?\s*$/;

function shown(line: string): string {
  return JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}...` : line);
}

/**
 * The layout of a file from its first line, or a reason why it is not one of ours. Image lists have no
 * header: a first line that is an image id makes the file an image list (and that line is a row).
 */
export function analyseHeader(line: string): HeaderLayout | { error: string } {
  if (IMAGE_LIST_LINE.test(line)) return { kind: 'image_list', fields: 1, at: { imageId: 0 }, display: {} };
  const parsed = headerNames(line);
  if (!parsed) return { error: `unknown header (malformed quoting): ${shown(line)}` };
  const names = new Set(parsed.names);
  const kind = guessKind(names, parsed.trailingEmpty);
  if (!kind) return { error: `unknown header: ${shown(line)}` };
  const specs = SPECS[kind];
  const at: Record<string, number> = {};
  const display: Record<string, string> = {};
  const seen = new Set<string>();
  let offset = 0;
  for (const name of parsed.names) {
    const spec = specs.find((s) => s.names.includes(name));
    if (!spec)
      return { error: `unexpected column ${JSON.stringify(name)} in a ${kind} header: ${shown(line)}` };
    if (seen.has(spec.key))
      return { error: `duplicate column ${JSON.stringify(spec.display)} in the header` };
    seen.add(spec.key);
    at[spec.key] = offset;
    display[spec.key] = spec.display;
    offset += spec.width;
  }
  const missing = specs.filter((s) => !seen.has(s.key)).map((s) => s.display);
  if (missing.length > 0) {
    return { error: `the ${kind} header lacks column(s) ${missing.join(', ')}: ${shown(line)}` };
  }
  return { kind, fields: offset, at, display };
}

/**
 * The file kind from its first line alone (never the file name); undefined when not recognised. The two
 * metadata versions differ in their header only by the trailing comma of Data_Entry_2017.csv; a file in
 * the 2017 format without it parses as v2020 and rejects each `058Y` age with a reason that says so.
 * Columns may come in any order; the unquoted `OriginalImage[Width,Height]` counts as two data columns.
 */
export function detectKind(headerLine: string): FileKind | undefined {
  const h = analyseHeader(headerLine);
  return 'error' in h ? undefined : h.kind;
}
