/**
 * An independent reader of the raw NIH / Google label files for the labels tests: gunzip, split lines and
 * commas, nothing from shared/parsers. It builds the record the API should serve for an image, straight from
 * the CSV lines, and keeps the raw lines so a failure can show them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

type Row = string[];
const BUCKET = 'gs://gcs-public-data--healthcare-nih-chest-xray';
const FOUR_KEYS = ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'];

function lines(dir: string, name: string): string[] {
  const path = join(dir, name);
  if (!existsSync(path)) return [];
  const buf = readFileSync(path);
  const text = (name.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

function table(dir: string, name: string): { header: string[]; rows: Row[] } {
  const [head, ...rest] = lines(dir, name);
  return { header: head?.split(',') ?? [], rows: rest.map((l) => l.split(',')) };
}

const id = (file: string) => file.replace(/\.png$/, '');
const yes = (v: string | undefined) => v === 'YES';
/** Label-file spellings of NIH finding names. */
const finding = (name: string) =>
  name === 'Infiltrate' ? 'Infiltration' : name.replace('Pleural Thickening', 'Pleural_Thickening');

export interface RawNih {
  v2020: Map<string, Row>;
  v2017: Map<string, Row>;
  testIds: Set<string>;
  trainValIds: Set<string>;
  boxes: Map<string, Row[]>;
  four: Map<string, Row>;
  fourSetOf: Map<string, 'validation' | 'test'>;
  all: { header: string[]; rows: Map<string, Row> };
  fourReaders: Map<string, Row[]>;
  allReaders: { header: string[]; rows: Map<string, Row[]> };
}

function group(rows: Row[], key: (r: Row) => string): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}

export function readRawNih(dir: string): RawNih {
  const four = new Map<string, Row>();
  const fourSetOf = new Map<string, 'validation' | 'test'>();
  for (const f of ['test_labels.csv', 'validation_labels.csv']) {
    for (const r of table(dir, `four_findings_expert_labels/${f}`).rows) {
      four.set(id(r[0]!), r);
      fourSetOf.set(id(r[0]!), r[15] === 'val' ? 'validation' : 'test');
    }
  }
  const all = table(dir, 'all_findings_expert_labels/test_labels.csv');
  const allReaders = table(dir, 'all_findings_expert_labels/test_individual_readers.csv');
  return {
    v2020: new Map(table(dir, 'Data_Entry_2017_v2020.csv.gz').rows.map((r) => [id(r[0]!), r])),
    v2017: new Map(table(dir, 'Data_Entry_2017.csv.gz').rows.map((r) => [id(r[0]!), r])),
    testIds: new Set(lines(dir, 'test_list.txt').map(id)),
    trainValIds: new Set(lines(dir, 'train_val_list.txt').map(id)),
    boxes: group(table(dir, 'BBox_List_2017.csv.gz').rows, (r) => id(r[0]!)),
    four,
    fourSetOf,
    all: { header: all.header, rows: new Map(all.rows.map((r) => [id(r[0]!), r])) },
    fourReaders: group(table(dir, 'four_findings_expert_labels/individual_readers.csv').rows, (r) =>
      id(r[1]!),
    ),
    allReaders: { header: allReaders.header, rows: group(allReaders.rows, (r) => id(r[0]!)) },
  };
}

/** Each reader's first row for the image (the files repeat a few reader rows; the first one counts). */
function firstPerReader(rows: Row[], readerCol: number): Row[] {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r[readerCol]!) && seen.add(r[readerCol]!));
}

/** What GET /v1/images/{imageId} must return, from the raw lines; readers sorted by study then reader id. */
export function expectedRecord(raw: RawNih, imageId: string): Record<string, unknown> {
  const m = raw.v2020.get(imageId);
  if (!m) throw new Error(`${imageId} is not in Data_Entry_2017_v2020.csv.gz`);
  const f = raw.four.get(imageId);
  const a = raw.all.rows.get(imageId);
  const allCol = (row: Row, name: string) => row[raw.all.header.indexOf(name)];
  const allFindingNames = raw.all.header.slice(3, -1);
  const fourReaders = firstPerReader(raw.fourReaders.get(imageId) ?? [], 2).map((r) => ({
    study: 'fourFindings',
    readerId: r[2],
    labels: Object.fromEntries(FOUR_KEYS.map((k, i) => [k, r[3 + i]])),
  }));
  const h = raw.allReaders.header;
  const allReaders = firstPerReader(raw.allReaders.rows.get(imageId) ?? [], 2).map((r) => ({
    study: 'allFindings',
    readerId: r[2],
    labels: {
      abnormal: r[3] === '1' || r[3] === 'YES' ? 'YES' : 'NO',
      ...Object.fromEntries(h.slice(4, -1).map((name, i) => [finding(name), r[4 + i]])),
      other: r[h.length - 1],
    },
  }));
  return {
    imageId,
    patientId: Number(m[3]),
    followUp: Number(m[2]),
    patientAge: Number(m[4]),
    patientSex: m[5],
    viewPosition: m[6],
    width: Number(m[7]),
    height: Number(m[8]),
    pixelSpacing: { x: Number(m[9]), y: Number(m[10]) },
    split: raw.testIds.has(imageId) ? 'test' : 'train_val',
    findings: m[1] === 'No Finding' ? [] : m[1]!.split('|'),
    boundingBoxes: (raw.boxes.get(imageId) ?? []).map((b) => ({
      finding: finding(b[1]!),
      x: Number(b[2]),
      y: Number(b[3]),
      w: Number(b[4]),
      h: Number(b[5]),
    })),
    expert: {
      fourFindings: f
        ? {
            set: raw.fourSetOf.get(imageId),
            ...Object.fromEntries(FOUR_KEYS.map((k, i) => [k, yes(f[11 + i])])),
          }
        : null,
      allFindings: a
        ? {
            abnormal: yes(allCol(a, 'Abnormal')),
            other: yes(allCol(a, 'Other')),
            findings: Object.fromEntries(allFindingNames.map((n) => [finding(n), yes(allCol(a, n))])),
          }
        : null,
      readers: [...fourReaders, ...allReaders].sort((x, y) =>
        x.study === y.study ? Number(x.readerId) - Number(y.readerId) : x.study === 'fourFindings' ? -1 : 1,
      ),
    },
    files: { png: `${BUCKET}/png/${imageId}.png`, dicom: `${BUCKET}/dicom/${imageId}.dcm` },
  };
}

/** Age in the 2017 file: `058Y` (or a plain number). */
const age2017 = (v: string) => Number.parseInt(v, 10);

/** The 2017 row's fields that differ from v2020 (same normalisation on both sides). */
export function differences2017(raw: RawNih, imageId: string): string[] {
  const a = raw.v2017.get(imageId);
  const b = raw.v2020.get(imageId);
  if (!a || !b) return [];
  const out: string[] = [];
  if (a[1] !== b[1]) out.push('findings');
  if (Number(a[2]) !== Number(b[2])) out.push('followUp');
  if (Number(a[3]) !== Number(b[3])) out.push('patientId');
  if (age2017(a[4]!) !== Number(b[4])) out.push('patientAge');
  if (a[5] !== b[5] || a[6] !== b[6]) out.push('sex/view');
  if (Number(a[9]) !== Number(b[9]) || Number(a[10]) !== Number(b[10])) out.push('pixelSpacing');
  return out;
}

/** Images spread over the cases the issue names, picked deterministically from the raw files. */
export function pickTable(raw: RawNih): { name: string; ids: string[] }[] {
  const ids = [...raw.v2020.keys()];
  const first = (n: number, pred: (id: string) => boolean) => ids.filter(pred).slice(0, n);
  const findingsOf = (i: string) => raw.v2020.get(i)![1]!.split('|');
  const mostBoxes = [...raw.boxes.entries()].sort((x, y) => y[1].length - x[1].length)[0]?.[0];
  const dupReader = [...raw.fourReaders.entries()].find(
    ([, rows]) => new Set(rows.map((r) => r[2])).size < rows.length,
  )?.[0];
  return [
    {
      name: 'no finding, train_val',
      ids: first(1, (i) => findingsOf(i)[0] === 'No Finding' && !raw.testIds.has(i)),
    },
    {
      name: 'no finding, test',
      ids: first(1, (i) => findingsOf(i)[0] === 'No Finding' && raw.testIds.has(i)),
    },
    { name: 'several findings', ids: first(3, (i) => findingsOf(i).length >= 3) },
    {
      name: 'bounding boxes',
      ids: [...new Set([mostBoxes, ...first(2, (i) => raw.boxes.has(i))])].filter((x) => x !== undefined),
    },
    {
      name: 'an Infiltrate box (mapped to Infiltration)',
      ids: first(1, (i) => (raw.boxes.get(i) ?? []).some((b) => b[1] === 'Infiltrate')),
    },
    { name: 'four findings, validation', ids: first(3, (i) => raw.fourSetOf.get(i) === 'validation') },
    {
      name: 'four findings, test',
      ids: first(3, (i) => raw.fourSetOf.get(i) === 'test' && !raw.all.rows.has(i)),
    },
    {
      name: 'all findings, five readers',
      ids: first(2, (i) => (raw.allReaders.rows.get(i)?.length ?? 0) === 5),
    },
    {
      name: 'HEDGE reader labels',
      ids: first(3, (i) => (raw.fourReaders.get(i) ?? []).some((r) => r.includes('HEDGE'))),
    },
    { name: 'a reader row repeated in the file', ids: dupReader ? [dupReader] : [] },
    {
      name: '2017 and v2020 differ in age',
      ids: first(1, (i) => differences2017(raw, i).includes('patientAge')),
    },
    {
      name: '2017 and v2020 differ in follow-up',
      ids: first(1, (i) => differences2017(raw, i).includes('followUp')),
    },
    { name: 'impossible age in 2017', ids: first(1, (i) => age2017(raw.v2017.get(i)?.[4] ?? '0') > 120) },
    {
      name: 'spread over the file',
      ids: [0.2, 0.4, 0.6, 0.8, 1].map((q) => ids[Math.floor(q * (ids.length - 1))]!),
    },
  ];
}
