import { FINDINGS, type Finding } from '../model/findings.ts';
import type { ImageRecord } from '../model/record.ts';
import type { CohortImageRow, CohortReaderRow } from './columns.ts';

const BIT: ReadonlyMap<Finding, number> = new Map(FINDINGS.map((f, i) => [f, 2 ** i]));

/** Bit mask of findings: bit i is FINDINGS[i]. Fits easily in INT64 / a JS safe integer (14 bits). */
export function findingsMask(findings: Iterable<Finding>): number {
  let m = 0;
  for (const f of new Set(findings)) m += BIT.get(f) ?? 0;
  return m;
}

/** The findings of a mask, in NIH name order. */
export function maskFindings(mask: number): Finding[] {
  return FINDINGS.filter((_, i) => Math.floor(mask / 2 ** i) % 2 === 1);
}

const IMAGE_ID = /^(\d{8})_(\d{3})$/;

/** image_id as a number: the 11 digits of `00000001_000` (fixed width, so numeric order = id order). */
export function imageKey(imageId: string): number {
  const m = IMAGE_ID.exec(imageId);
  if (!m) throw new Error(`not an image id: ${JSON.stringify(imageId)}`);
  return Number(m[1]) * 1000 + Number(m[2]);
}

/** The cohort_images row of an image record. */
export function toCohortRow(r: ImageRecord): CohortImageRow {
  const ff = r.expert.fourFindings;
  const af = r.expert.allFindings;
  const afYes = af ? FINDINGS.filter((f) => af.findings[f]) : [];
  const boxFindings = [...new Set(r.boundingBoxes.map((b) => b.finding))].sort();
  return {
    image_id: r.imageId,
    image_key: imageKey(r.imageId),
    patient_id: r.patientId,
    follow_up: r.followUp,
    patient_age: r.patientAge,
    patient_sex: r.patientSex,
    view_position: r.viewPosition,
    width: r.width,
    height: r.height,
    pixel_spacing_x: r.pixelSpacing.x,
    pixel_spacing_y: r.pixelSpacing.y,
    split: r.split,
    findings: [...r.findings],
    findings_mask: findingsMask(r.findings),
    has_bounding_box: r.boundingBoxes.length > 0,
    bounding_box_findings: boxFindings,
    ff_set: ff?.set ?? null,
    ff_fracture: ff?.fracture ?? null,
    ff_pneumothorax: ff?.pneumothorax ?? null,
    ff_airspace_opacity: ff?.airspaceOpacity ?? null,
    ff_nodule_or_mass: ff?.noduleOrMass ?? null,
    af_abnormal: af?.abnormal ?? null,
    af_other: af?.other ?? null,
    af_findings: afYes,
    af_findings_mask: af ? findingsMask(afYes) : null,
    dicom_study_instance_uid: r.dicom?.studyInstanceUid ?? null,
    dicom_series_instance_uid: r.dicom?.seriesInstanceUid ?? null,
    dicom_sop_instance_uid: r.dicom?.sopInstanceUid ?? null,
    dicom_transfer_syntax_uid: r.dicom?.transferSyntaxUid ?? null,
    dicom_rows: r.dicom?.rows ?? null,
    dicom_columns: r.dicom?.columns ?? null,
    dicom_photometric_interpretation: r.dicom?.photometricInterpretation ?? null,
  };
}

/** The cohort_readers rows of an image record: one per (study, reader, label), sorted. */
export function toReaderRows(r: ImageRecord): CohortReaderRow[] {
  const rows: CohortReaderRow[] = [];
  for (const reader of r.expert.readers) {
    for (const [label, value] of Object.entries(reader.labels)) {
      rows.push({
        image_id: r.imageId,
        patient_id: r.patientId,
        study: reader.study,
        reader_id: reader.readerId,
        label,
        value,
      });
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return rows.sort(
    (a, b) =>
      cmp(a.study, b.study) ||
      Number(a.reader_id) - Number(b.reader_id) ||
      cmp(a.reader_id, b.reader_id) ||
      cmp(a.label, b.label),
  );
}

/** Both tables' rows of one image: what CohortStore.load / upsert take. */
export interface CohortRows {
  image: CohortImageRow;
  readers: CohortReaderRow[];
}

export function toCohortRows(r: ImageRecord): CohortRows {
  return { image: toCohortRow(r), readers: toReaderRows(r) };
}
