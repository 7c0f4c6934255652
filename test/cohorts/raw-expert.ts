/**
 * An independent reading of the expert label files for the label-quality tests: plain node (fs, zlib,
 * String.split), none of the project's parsers, loader or SQL. It reads the raw CSV files of a data folder
 * (the real NIH_DATA_DIR or the synthetic set written in the same formats) and counts what the agreement
 * endpoint and the reader filters must report.
 *
 * The one rule taken from the loader on purpose: a reader who labelled an image twice counts once, with the
 * row that comes first in the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export type Value = 'YES' | 'NO' | 'HEDGE';
/** reader id -> label -> value, for one image. */
export type Reads = Map<string, Record<string, Value>>;

export interface RawExpert {
  /** NIH findings of every image of the metadata (Data_Entry_2017_v2020), NIH spelling; [] = No Finding. */
  nih: Map<string, string[]>;
  /** Adjudicated four-findings labels: label (fracture, pneumothorax, airspaceOpacity, noduleOrMass) -> YES. */
  four: Map<string, { set: 'validation' | 'test'; labels: Record<string, boolean> }>;
  fourReads: Map<string, Reads>;
  /** All-findings ground truth: label (abnormal, NIH name, other) -> YES. */
  all: Map<string, Record<string, boolean>>;
  allReads: Map<string, Reads>;
}

function rows(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0)
    .map((l) => l.split(','));
}

const FOUR_NAMES: Record<string, string> = {
  fracture: 'fracture',
  pneumothorax: 'pneumothorax',
  airspaceopacity: 'airspaceOpacity',
  nodulemass: 'noduleOrMass',
  noduleormass: 'noduleOrMass',
};
const squash = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');
/** All-findings file columns to NIH spelling (the files write `Pleural Thickening`). */
const allName = (col: string) =>
  col === 'Abnormal' ? 'abnormal' : col === 'Other' ? 'other' : col.replace(' ', '_');
const stem = (file: string) => file.replace(/\.png$/, '');

export function readRawExpert(dir: string): RawExpert {
  const nih = new Map<string, string[]>();
  const meta = rows(gunzipSync(readFileSync(join(dir, 'Data_Entry_2017_v2020.csv.gz'))).toString('utf8'));
  for (const r of meta.slice(1)) {
    const labels = r[1]!;
    nih.set(stem(r[0]!), labels === 'No Finding' ? [] : labels.split('|'));
  }

  const four: RawExpert['four'] = new Map();
  for (const file of ['validation_labels.csv', 'test_labels.csv']) {
    const [head, ...body] = rows(readFileSync(join(dir, 'four_findings_expert_labels', file), 'utf8'));
    const cols = head!.map((h, i) => [FOUR_NAMES[squash(h)], i] as const).filter(([n]) => n);
    const iSet = head!.findIndex((h) => squash(h) === 'setid');
    for (const r of body) {
      const id = stem(r[0]!);
      if (four.has(id)) continue; // first row wins, as everywhere
      const labels: Record<string, boolean> = {};
      for (const [name, i] of cols) labels[name!] = r[i] === 'YES';
      four.set(id, { set: r[iSet] === 'test' ? 'test' : 'validation', labels });
    }
  }

  const fourReads = new Map<string, Reads>();
  {
    const [head, ...body] = rows(
      readFileSync(join(dir, 'four_findings_expert_labels', 'individual_readers.csv'), 'utf8'),
    );
    const iImage = head!.indexOf('Image ID');
    const iReader = head!.indexOf('Reader ID');
    const cols = head!.map((h, i) => [FOUR_NAMES[squash(h)], i] as const).filter(([n]) => n);
    for (const r of body) addRead(fourReads, stem(r[iImage]!), r[iReader]!, cols, r);
  }

  const all = new Map<string, Record<string, boolean>>();
  const allReads = new Map<string, Reads>();
  for (const [file, readers] of [
    ['test_labels.csv', false],
    ['test_individual_readers.csv', true],
  ] as const) {
    const [head, ...body] = rows(readFileSync(join(dir, 'all_findings_expert_labels', file), 'utf8'));
    const skip = new Set(['Image ID', 'Patient ID', 'Reader ID']);
    const cols = head!.map((h, i) => [allName(h), i] as const).filter(([, i]) => !skip.has(head![i]!));
    const iImage = head!.indexOf('Image ID');
    for (const r of body) {
      const id = stem(r[iImage]!);
      if (readers) {
        // Abnormal is written 1/0 in the readers' file.
        const norm = r.map((v, i) => (i === cols[0]![1] ? (v === '1' || v === 'YES' ? 'YES' : 'NO') : v));
        addRead(allReads, id, r[head!.indexOf('Reader ID')]!, cols, norm);
      } else if (!all.has(id)) {
        all.set(id, Object.fromEntries(cols.map(([n, i]) => [n, r[i] === 'YES'])));
      }
    }
  }
  return { nih, four, fourReads, all, allReads };
}

function addRead(
  into: Map<string, Reads>,
  image: string,
  reader: string,
  cols: readonly (readonly [string | undefined, number])[],
  r: string[],
): void {
  const reads = into.get(image) ?? new Map<string, Record<string, Value>>();
  into.set(image, reads);
  if (reads.has(reader)) return; // the loader's rule: the first read of a reader counts
  reads.set(reader, Object.fromEntries(cols.map(([n, i]) => [n!, r[i] as Value])));
}

/** The values of one label over the reads of an image. */
export const valuesOf = (reads: Reads | undefined, label: string): Value[] =>
  reads ? [...reads.values()].map((x) => x[label]!).filter((v) => v !== undefined) : [];

export interface Cells {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Adds one (test, truth) pair to a 2x2 table. */
export function tally(m: Cells, test: boolean, truth: boolean): void {
  if (test && truth) m.tp++;
  else if (test) m.fp++;
  else if (truth) m.fn++;
  else m.tn++;
}
