/**
 * An independent, deliberately plain evaluation of a cohort filter over parsed ImageRecords: no SQL, no
 * masks, no code shared with the compiler. The stores must agree with it exactly.
 */
import type { CohortFilter } from '../../shared/cohorts/filter.ts';
import type { CohortSummary } from '../../shared/cohorts/results.ts';
import {
  FINDINGS,
  FOUR_FINDINGS,
  type ImageRecord,
  NO_FINDING,
  type ReaderStudy,
} from '../../shared/model/index.ts';

/** The values the readers of one study gave one label of an image (one per reader, as the loader keeps). */
export function readsOf(r: ImageRecord, study: ReaderStudy, label: string): string[] {
  const out: string[] = [];
  for (const reader of r.expert.readers) {
    const v = reader.study === study ? reader.labels[label] : undefined;
    if (v !== undefined) out.push(v);
  }
  return out;
}
const disputedOn = (r: ImageRecord, study: ReaderStudy, label: string) =>
  new Set(readsOf(r, study, label)).size > 1;
const hedgedOn = (r: ImageRecord, label: string) => readsOf(r, 'fourFindings', label).includes('HEDGE');

export function matches(r: ImageRecord, f: CohortFilter): boolean {
  const has = (name: string) => (r.findings as string[]).includes(name);
  if (f.findings?.all && !f.findings.all.every(has)) return false;
  if (f.findings?.any && !f.findings.any.some(has)) return false;
  if (f.findings?.none?.some(has)) return false;
  if (f.noFinding === true && r.findings.length > 0) return false;
  if (f.noFinding === false && r.findings.length === 0) return false;
  if (f.age) {
    if (r.patientAge === null) return false;
    if (f.age.min !== undefined && r.patientAge < f.age.min) return false;
    if (f.age.max !== undefined && r.patientAge > f.age.max) return false;
  }
  if (f.sex && !(f.sex as string[]).includes(r.patientSex)) return false;
  if (f.view && !(f.view as string[]).includes(r.viewPosition)) return false;
  if (f.split && !(f.split as string[]).includes(r.split)) return false;
  if (f.patientIds && !f.patientIds.includes(r.patientId)) return false;
  if (f.hasBoundingBox !== undefined && f.hasBoundingBox !== r.boundingBoxes.length > 0) return false;
  const ffWant = f.expert?.fourFindings;
  if (ffWant) {
    const ff = r.expert.fourFindings;
    if (!ff) return false;
    if (ffWant.set && !(ffWant.set as string[]).includes(ff.set)) return false;
    for (const k of ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'] as const) {
      if (ffWant[k] !== undefined && ffWant[k] !== ff[k]) return false;
    }
    if (ffWant.disputed && !ffWant.disputed.some((l) => disputedOn(r, 'fourFindings', l))) return false;
    if (ffWant.hedged && !ffWant.hedged.some((l) => hedgedOn(r, l))) return false;
  }
  const afWant = f.expert?.allFindings;
  if (afWant) {
    const af = r.expert.allFindings;
    if (!af) return false;
    if (afWant.abnormal !== undefined && afWant.abnormal !== af.abnormal) return false;
    if (afWant.other !== undefined && afWant.other !== af.other) return false;
    for (const name of FINDINGS) {
      const want = afWant.findings?.[name];
      if (want !== undefined && want !== af.findings[name]) return false;
    }
    if (afWant.disputed && !afWant.disputed.some((l) => disputedOn(r, 'allFindings', l))) return false;
  }
  const rd = f.expert?.reader;
  if (rd && !r.expert.readers.some((x) => x.readerId === rd.id && x.labels[rd.finding] === rd.value)) {
    return false;
  }
  return true;
}

/** The image ids a filter selects, sorted. */
export function expectedIds(records: readonly ImageRecord[], f: CohortFilter): string[] {
  return records
    .filter((r) => matches(r, f))
    .map((r) => r.imageId as string)
    .sort();
}

const zeros = (keys: readonly string[]): Record<string, number> =>
  Object.fromEntries(keys.map((k) => [k, 0]));

/** The summary a filter should produce, counted one record at a time. */
export function expectedSummary(records: readonly ImageRecord[], f: CohortFilter): CohortSummary {
  const hit = records.filter((r) => matches(r, f));
  const findings = Object.fromEntries([...FINDINGS, NO_FINDING].map((n) => [n, 0])) as Record<string, number>;
  const age = Array.from({ length: 13 }, (_, i) => ({ from: i * 10, to: i * 10 + 9, count: 0 }));
  const s = {
    totalImages: hit.length,
    totalPatients: new Set(hit.map((r) => r.patientId)).size,
    findings,
    patientSex: { M: 0, F: 0 },
    viewPosition: { PA: 0, AP: 0 },
    split: { train_val: 0, test: 0 },
    age,
    expert: {
      fourFindings: { disputed: zeros(FOUR_FINDINGS), hedged: zeros(FOUR_FINDINGS) },
      allFindings: { disputed: zeros(['abnormal', ...FINDINGS, 'other']) },
    },
  };
  for (const r of hit) {
    // Counted over the images that carry the study's adjudicated labels, as the filters select them.
    for (const l of r.expert.fourFindings ? FOUR_FINDINGS : []) {
      if (disputedOn(r, 'fourFindings', l)) s.expert.fourFindings.disputed[l]! += 1;
      if (hedgedOn(r, l)) s.expert.fourFindings.hedged[l]! += 1;
    }
    for (const l of r.expert.allFindings ? Object.keys(s.expert.allFindings.disputed) : []) {
      if (disputedOn(r, 'allFindings', l)) s.expert.allFindings.disputed[l]! += 1;
    }
    if (r.findings.length === 0) findings[NO_FINDING]! += 1;
    for (const name of new Set(r.findings)) findings[name]! += 1;
    s.patientSex[r.patientSex] += 1;
    s.viewPosition[r.viewPosition] += 1;
    s.split[r.split] += 1;
    if (r.patientAge !== null) age[Math.floor(r.patientAge / 10)]!.count += 1;
  }
  return s as CohortSummary;
}
