import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FINDINGS, type Finding } from '../model/index.ts';
import { Random } from './random.ts';
import { type SynImage, syntheticImages } from './synthetic-images.ts';
import {
  allFindingsLabels,
  FOUR_KEYS,
  fourFindingsLabels,
  type SynAll,
  type SynFour,
} from './synthetic-labels.ts';

const METADATA_HEADER =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]';
const FOUR_HEADER = `${METADATA_HEADER},Fracture,Pneumothorax,Airspace opacity,Nodule or mass,Set Id`;
/** The all-findings files' own column order and spelling (`Pleural Thickening`). */
const ALL_COLUMNS: Finding[] = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
];
const ALL_HEADER = `Abnormal,${ALL_COLUMNS.map((f) => f.replace('_', ' ')).join(',')},Other`;
/** The eight findings the NIH boxes are drawn for: the first eight of the all-findings columns. */
const BOX_FINDINGS: Finding[] = ALL_COLUMNS.slice(0, 8);

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const yn = (b: boolean) => (b ? 'YES' : 'NO');
const findingLabels = (f: Finding[]) => (f.length === 0 ? 'No Finding' : f.join('|'));

/** Lines joined exactly like the real file: its line ending, with or without a final one. */
function text(lines: string[], eol: '\n' | '\r\n', final: boolean): string {
  return lines.join(eol) + (final ? eol : '');
}

function metadataV2020(images: SynImage[]): string {
  const rows = images.map(
    (i) =>
      `${i.id}.png,${findingLabels(i.findings2020)},${i.followUp2020},${i.patient},${i.age2020},${i.sex},${i.view},${i.size[0]},${i.size[1]},${i.spacing[1]},${i.spacing[1]}`,
  );
  return text([METADATA_HEADER, ...rows], '\n', true);
}

function metadata2017(images: SynImage[]): string {
  const rows = images.map(
    (i) =>
      `${i.id}.png,${findingLabels(i.findings2017)},${pad(i.followUp, 3)},${pad(i.patient, 8)},${i.age2017},${i.sex},${i.view},${i.size[0]},${i.size[1]},${i.spacing[0]},${i.spacing[0]}`,
  );
  return text([`${METADATA_HEADER},`, ...rows], '\r\n', true);
}

/** Up to three boxes per box finding, on images that carry it; `Infiltrate` as the real file spells it. */
function boxes(rnd: Random, images: SynImage[]): string {
  const rows: string[] = [];
  for (const f of BOX_FINDINGS) {
    for (const img of rnd.sample(
      images.filter((i) => i.findings2020.includes(f)),
      3,
    )) {
      const [x, y] = [rnd.next() * 800 + 50, rnd.next() * 700 + 100];
      const [w, h] = [rnd.next() * 300 + 20, rnd.next() * 300 + 20];
      rows.push(`${img.id}.png,${f === 'Infiltration' ? 'Infiltrate' : f},${x},${y},${w},${h}`);
    }
  }
  return text(['Image Index,Finding Label,Bbox [x,y,w,h],,,', ...rows], '\n', true);
}

function fourLabelRow({ image: i, adjudicated: a, set }: SynFour): string {
  // The label files copy the 2017 metadata in v2020-like spelling (ages in years, even an impossible one).
  return `${i.id}.png,${findingLabels(i.findings2017)},${i.followUp},${i.patient},${i.ageYears2017},${i.sex},${i.view},${i.size[0]},${i.size[1]},${i.spacing[0]},${i.spacing[0]},${yn(a.fracture)},${yn(a.pneumothorax)},${yn(a.airspaceOpacity)},${yn(a.noduleOrMass)},${set === 'validation' ? 'val' : 'test'}`;
}

function fourReaders(four: SynFour[]): string {
  const rows = four.flatMap((f) =>
    f.readers.map(
      (r) =>
        `${f.image.patient},${f.image.id}.png,${r.readerId},${FOUR_KEYS.map((k) => r.labels[k]).join(',')},${f.set === 'validation' ? 'val' : 'test'}`,
    ),
  );
  return text(
    ['Patient ID,Image ID,Reader ID,Fracture,Pneumothorax,Airspace opacity,Nodule/mass,Set ID', ...rows],
    '\r\n',
    true,
  );
}

function allLabels(all: SynAll[]): string {
  const rows = all.map(
    ({ image: i, truth: t }) =>
      `${i.id}.png,${i.patient},${yn(t.abnormal)},${ALL_COLUMNS.map((f) => yn(t.findings[f])).join(',')},${yn(t.other)}`,
  );
  return text([`Image ID,Patient ID,${ALL_HEADER}`, ...rows], '\n', true);
}

function allReaders(all: SynAll[]): string {
  const rows = all.flatMap(({ image: i, readers }) =>
    readers.map(
      // test_individual_readers.csv writes Abnormal as 1/0.
      (r) =>
        `${i.id}.png,${i.patient},${r.readerId},${r.abnormal ? 1 : 0},${ALL_COLUMNS.map((f) => yn(r.findings[f])).join(',')},${yn(r.other)}`,
    ),
  );
  return text([`Image ID,Patient ID,Reader ID,${ALL_HEADER}`, ...rows], '\n', true);
}

/**
 * Writes a small SYNTHETIC dataset into `dir` in exactly the real files' names and formats (gzip, CRLF and
 * final newlines where the real ones have them): both metadata versions with the 2017 quirks, boxes, both
 * split lists, and every expert label file. Deterministic for a seed. Used by the tests and by the local
 * server when NIH_DATA_DIR is unset; not medical data.
 */
export async function writeSyntheticDataset(
  dir: string,
  opts: { images?: number; seed?: number } = {},
): Promise<void> {
  const rnd = new Random(opts.seed ?? 2017);
  const images = syntheticImages(rnd, Math.max(opts.images ?? 300, FINDINGS.length + 20));
  const four = fourFindingsLabels(rnd, images);
  const all = allFindingsLabels(rnd, four);
  const byId = (a: { image: SynImage }, b: { image: SynImage }) => (a.image.id < b.image.id ? -1 : 1);
  const fourTest = four.filter((f) => f.set === 'test').map(fourLabelRow);
  const fourVal = four.filter((f) => f.set === 'validation').map(fourLabelRow);
  const list = (split: SynImage['split']) =>
    text(
      images.filter((i) => i.split === split).map((i) => `${i.id}.png`),
      '\n',
      false,
    );
  const files: Record<string, string | Buffer> = {
    'Data_Entry_2017_v2020.csv.gz': gzipSync(metadataV2020(images)),
    'Data_Entry_2017.csv.gz': gzipSync(metadata2017(images)),
    'BBox_List_2017.csv.gz': gzipSync(boxes(rnd, images)),
    'train_val_list.txt': list('train_val'),
    'test_list.txt': list('test'),
    'google2019_nih-chest-xray-labels.csv.gz': gzipSync(
      text([FOUR_HEADER, ...fourTest, ...fourVal], '\r\n', false),
    ),
    'four_findings_expert_labels/test_labels.csv': text([FOUR_HEADER, ...fourTest], '\r\n', true),
    'four_findings_expert_labels/validation_labels.csv': text([FOUR_HEADER, ...fourVal], '\r\n', true),
    'four_findings_expert_labels/individual_readers.csv': fourReaders([...four].sort(byId)),
    'all_findings_expert_labels/test_labels.csv': allLabels(all),
    'all_findings_expert_labels/test_individual_readers.csv': allReaders(all),
  };
  await mkdir(join(dir, 'four_findings_expert_labels'), { recursive: true });
  await mkdir(join(dir, 'all_findings_expert_labels'), { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
}
