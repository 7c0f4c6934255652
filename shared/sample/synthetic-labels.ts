import { FINDINGS, type Finding, type FourFindingsSet, type ReaderValue } from '../model/index.ts';
import type { Random } from './random.ts';
import type { SynImage } from './synthetic-images.ts';

export const FOUR_KEYS = ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'] as const;
type FourKey = (typeof FOUR_KEYS)[number];

export interface SynFour {
  image: SynImage;
  set: FourFindingsSet;
  adjudicated: Record<FourKey, boolean>;
  /** In file order; may repeat a reader (identically, or not: the real file has 4 such conflicts). */
  readers: { readerId: string; labels: Record<FourKey, ReaderValue> }[];
}

export interface SynAll {
  image: SynImage;
  truth: { abnormal: boolean; other: boolean; findings: Record<Finding, boolean> };
  readers: { readerId: string; abnormal: boolean; other: boolean; findings: Record<Finding, boolean> }[];
}

/** The five all-findings readers; the first three listed in the README are the ground-truth readers. */
export const ALL_FINDINGS_READERS = ['4343882583', '4343882785', '4343880271', '4343883996', '4343883593'];
export const GROUND_TRUTH_READERS = ['4343882785', '4343883593', '4343883996'];
const FOUR_READERS = Array.from({ length: 13 }, (_, i) => String(4295190000 + i * 12347));

/**
 * Four-findings labels for ~10% of train_val (validation) and ~40% of test images, 3 readers each (a few 2, 4
 * or 5), HEDGE only for pneumothorax and nodule/mass as in Majkowska et al.; then one identical and one
 * conflicting repeated reader row. The validation set includes the images with an impossible 2017 age.
 */
export function fourFindingsLabels(rnd: Random, images: SynImage[]): SynFour[] {
  const out: SynFour[] = [];
  for (const image of images) {
    const set: FourFindingsSet | undefined =
      image.split === 'test'
        ? rnd.chance(0.4)
          ? 'test'
          : undefined
        : rnd.chance(0.1) || image.ageYears2017 > 120
          ? 'validation'
          : undefined;
    if (!set) continue;
    const adjudicated = {
      fracture: rnd.chance(0.05),
      pneumothorax: rnd.chance(0.1) || image.findings2020.includes('Pneumothorax'),
      airspaceOpacity: rnd.chance(0.35),
      noduleOrMass: rnd.chance(0.1),
    };
    const n = rnd.chance(0.05) ? rnd.pick([2, 4, 5]) : 3;
    const readers = rnd.sample(FOUR_READERS, n).map((readerId) => {
      const labels = {} as Record<FourKey, ReaderValue>;
      for (const k of FOUR_KEYS) {
        const hedgeable = k === 'pneumothorax' || k === 'noduleOrMass';
        const v = rnd.chance(0.12) ? !adjudicated[k] : adjudicated[k];
        labels[k] = hedgeable && rnd.chance(0.06) ? 'HEDGE' : v ? 'YES' : 'NO';
      }
      return { readerId, labels };
    });
    out.push({ image, set, adjudicated, readers });
  }
  const [identical, conflicting] = rnd.sample(out, 2);
  if (identical) identical.readers.push({ ...identical.readers[0]! });
  if (conflicting) {
    const r = conflicting.readers[0]!;
    conflicting.readers.push({
      readerId: r.readerId,
      labels: { ...r.labels, fracture: r.labels.fracture === 'YES' ? 'NO' : 'YES' },
    });
  }
  return out;
}

function majority(votes: boolean[]): boolean {
  return votes.filter(Boolean).length * 2 > votes.length;
}

/**
 * All-findings labels for the PA images of the four-findings test set, five readers each; the ground truth
 * is the majority of the three ground-truth readers, `Other` by the README's rule.
 */
export function allFindingsLabels(rnd: Random, four: SynFour[]): SynAll[] {
  const out: SynAll[] = [];
  for (const { image, set } of four) {
    if (set !== 'test' || image.view !== 'PA') continue;
    const likely = image.findings2020;
    const readers = ALL_FINDINGS_READERS.map((readerId) => {
      const findings = Object.fromEntries(
        FINDINGS.map((f) => [f, likely.includes(f) ? rnd.chance(0.7) : rnd.chance(0.03)]),
      ) as Record<Finding, boolean>;
      const other = rnd.chance(0.08);
      const abnormal = other || FINDINGS.some((f) => findings[f]) || rnd.chance(0.05);
      return { readerId, abnormal, other, findings };
    });
    const gt = readers.filter((r) => GROUND_TRUTH_READERS.includes(r.readerId));
    const findings = Object.fromEntries(
      FINDINGS.map((f) => [f, majority(gt.map((r) => r.findings[f]))]),
    ) as Record<Finding, boolean>;
    const abnormal = majority(gt.map((r) => r.abnormal));
    const other = majority(gt.map((r) => r.other)) || (abnormal && !FINDINGS.some((f) => findings[f]));
    out.push({ image, truth: { abnormal, other, findings }, readers });
  }
  return out;
}
