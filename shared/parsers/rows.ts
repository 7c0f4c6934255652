import {
  FINDINGS,
  type FindingFlags,
  type ImageMetadata,
  type ReaderValue,
  type Split,
} from '../model/index.ts';
import * as F from './fields.ts';
import type { HeaderLayout } from './header.ts';
import type { ParsedRow } from './types.ts';

type Warn = (reason: string) => void;
/** Parses the fields of one data row; throws RowRejection; returns undefined for a row skipped with a warning. */
export type RowParser = (fields: string[], line: number, warn: Warn) => ParsedRow | undefined;

const WIDTH = 'OriginalImage[Width,Height] width';
const HEIGHT = 'OriginalImage[Width,Height] height';
const SPACING_X = 'OriginalImagePixelSpacing[x,y] x';
const SPACING_Y = 'OriginalImagePixelSpacing[x,y] y';
const BOX = ['Bbox [x,y,w,h] x', 'Bbox [x,y,w,h] y', 'Bbox [x,y,w,h] w', 'Bbox [x,y,w,h] h'] as const;

/** How ages are written: the 2017 `058Y` form, or whole years where over 120 rejects or only warns. */
type AgeFormat = '2017' | 'years' | 'years-lenient';

function metadataReader(layout: HeaderLayout, ages: AgeFormat): (f: string[], warn: Warn) => ImageMetadata {
  const { at, display: d } = layout;
  const [iId, iFind, iFollow, iPatient, iAge, iSex, iView, iSize, iSpacing] = [
    at.imageId!,
    at.findings!,
    at.followUp!,
    at.patientId!,
    at.age!,
    at.sex!,
    at.view!,
    at.size!,
    at.spacing!,
  ];
  return (f, warn) => {
    const imageId = F.imageId(d.imageId!, f[iId]!);
    const patientId = F.patientId(d.patientId!, f[iPatient]!);
    F.checkPatientOfImage(d.patientId!, imageId, patientId);
    return {
      imageId,
      patientId,
      followUp: F.followUp(d.followUp!, f[iFollow]!),
      patientAge:
        ages === '2017'
          ? F.age2017(d.age!, f[iAge]!, warn)
          : F.ageYears(d.age!, f[iAge]!, ages === 'years' ? undefined : warn),
      patientSex: F.sex(d.sex!, f[iSex]!),
      viewPosition: F.view(d.view!, f[iView]!),
      width: F.pixels(WIDTH, f[iSize]!),
      height: F.pixels(HEIGHT, f[iSize + 1]!),
      pixelSpacing: { x: F.positive(SPACING_X, f[iSpacing]!), y: F.positive(SPACING_Y, f[iSpacing + 1]!) },
      findings: F.findingList(d.findings!, f[iFind]!),
    };
  };
}

function fourFindingsRow(layout: HeaderLayout): RowParser {
  const meta = metadataReader(layout, 'years-lenient');
  const { at, display: d } = layout;
  const labelCols = ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'].map((k) => at[k]!);
  const [iFr, iPn, iAo, iNm] = labelCols as [number, number, number, number];
  const iSet = at.set!;
  return (f, line, warn) => {
    const metadata = meta(f, warn);
    if (labelCols.every((i) => f[i] === '')) {
      // The Google README: a missing value means the image was not in the adjudicated set.
      warn(`no adjudicated labels for ${metadata.imageId} (not in the adjudicated set); row skipped`);
      return undefined;
    }
    const fourFindings = {
      set: F.fourFindingsSet(d.set!, f[iSet]!),
      fracture: F.yesNo(d.fracture!, f[iFr]!),
      pneumothorax: F.yesNo(d.pneumothorax!, f[iPn]!),
      airspaceOpacity: F.yesNo(d.airspaceOpacity!, f[iAo]!),
      noduleOrMass: F.yesNo(d.noduleOrMass!, f[iNm]!),
    };
    return { kind: 'four_findings_labels', line, metadata, fourFindings };
  };
}

function fourReadersRow(layout: HeaderLayout): RowParser {
  const { at, display: d } = layout;
  const [iId, iPatient, iReader, iFr, iPn, iAo, iNm, iSet] = [
    at.imageId!,
    at.patientId!,
    at.readerId!,
    at.fracture!,
    at.pneumothorax!,
    at.airspaceOpacity!,
    at.noduleOrMass!,
    at.set!,
  ];
  return (f, line) => {
    const imageId = F.imageId(d.imageId!, f[iId]!);
    const patientId = F.patientId(d.patientId!, f[iPatient]!);
    F.checkPatientOfImage(d.patientId!, imageId, patientId);
    const labels: Record<string, ReaderValue> = {
      // Majkowska et al.: fracture and airspace opacity were present/absent only; HEDGE is for the other two.
      fracture: F.readerYesNo(d.fracture!, f[iFr]!),
      pneumothorax: F.readerValue(d.pneumothorax!, f[iPn]!),
      airspaceOpacity: F.readerYesNo(d.airspaceOpacity!, f[iAo]!),
      noduleOrMass: F.readerValue(d.noduleOrMass!, f[iNm]!),
    };
    return {
      kind: 'four_findings_readers',
      line,
      imageId,
      patientId,
      set: F.fourFindingsSet(d.set!, f[iSet]!),
      reader: { study: 'fourFindings', readerId: F.readerId(d.readerId!, f[iReader]!), labels },
    };
  };
}

function allFindingsRow(layout: HeaderLayout, readers: boolean): RowParser {
  const { at, display: d } = layout;
  const iId = at.imageId!;
  const iPatient = at.patientId!;
  const iAbnormal = at.abnormal!;
  const iOther = at.other!;
  const findingCols = FINDINGS.map((name) => ({ name, i: at[name]!, col: d[name]! }));
  if (readers) {
    const iReader = at.readerId!;
    return (f, line) => {
      const imageId = F.imageId(d.imageId!, f[iId]!);
      const patientId = F.patientId(d.patientId!, f[iPatient]!);
      F.checkPatientOfImage(d.patientId!, imageId, patientId);
      const labels: Record<string, ReaderValue> = {
        abnormal: F.abnormal(d.abnormal!, f[iAbnormal]!) ? 'YES' : 'NO',
      };
      for (const c of findingCols) labels[c.name] = F.readerYesNo(c.col, f[c.i]!);
      labels.other = F.readerYesNo(d.other!, f[iOther]!);
      const reader = {
        study: 'allFindings' as const,
        readerId: F.readerId(d.readerId!, f[iReader]!),
        labels,
      };
      return { kind: 'all_findings_readers', line, imageId, patientId, reader };
    };
  }
  return (f, line) => {
    const imageId = F.imageId(d.imageId!, f[iId]!);
    const patientId = F.patientId(d.patientId!, f[iPatient]!);
    F.checkPatientOfImage(d.patientId!, imageId, patientId);
    const findings = {} as FindingFlags;
    for (const c of findingCols) findings[c.name] = F.yesNo(c.col, f[c.i]!);
    const allFindings = {
      abnormal: F.abnormal(d.abnormal!, f[iAbnormal]!),
      other: F.yesNo(d.other!, f[iOther]!),
      findings,
    };
    return { kind: 'all_findings_labels', line, imageId, patientId, allFindings };
  };
}

function boxRow(layout: HeaderLayout): RowParser {
  const { at, display: d } = layout;
  const [iId, iFinding, iBox] = [at.imageId!, at.finding!, at.box!];
  return (f, line) => {
    const imageId = F.imageId(d.imageId!, f[iId]!);
    const box = {
      finding: F.finding(d.finding!, f[iFinding]!),
      x: F.decimal(BOX[0], f[iBox]!),
      y: F.decimal(BOX[1], f[iBox + 1]!),
      w: F.nonNegative(BOX[2], f[iBox + 2]!),
      h: F.nonNegative(BOX[3], f[iBox + 3]!),
    };
    return { kind: 'bounding_boxes', line, imageId, box };
  };
}

/** The row parser for a file of this layout. Image lists need the split (see ParseOptions.split). */
export function rowParser(layout: HeaderLayout, split: Split | undefined): RowParser {
  switch (layout.kind) {
    case 'metadata_v2020':
    case 'metadata_2017': {
      const kind = layout.kind;
      const meta = metadataReader(layout, kind === 'metadata_2017' ? '2017' : 'years');
      return (f, line, warn) => ({ kind, line, metadata: meta(f, warn) });
    }
    case 'four_findings_labels':
      return fourFindingsRow(layout);
    case 'four_findings_readers':
      return fourReadersRow(layout);
    case 'all_findings_labels':
      return allFindingsRow(layout, false);
    case 'all_findings_readers':
      return allFindingsRow(layout, true);
    case 'bounding_boxes':
      return boxRow(layout);
    case 'image_list': {
      const s = split!;
      return (f, line) => ({
        kind: 'image_list',
        line,
        imageId: F.imageId('image id', f[0]!.trim()),
        split: s,
      });
    }
  }
}
