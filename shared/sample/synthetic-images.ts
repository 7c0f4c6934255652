import { FINDINGS, type Finding, type Sex, type Split, type View } from '../model/index.ts';
import type { Random } from './random.ts';

/** One synthetic image with both metadata versions, as the real files spell them. */
export interface SynImage {
  id: string;
  patient: number;
  /** From the image id: the 2017 file and the label files. */
  followUp: number;
  /** Data_Entry_2017_v2020.csv renumbered some follow-ups (24,106 of them in the real file). */
  followUp2020: number;
  /** `058Y`, `011M`, `001D`, or an impossible `412Y`. */
  age2017: string;
  /** The 2017 age in whole years as the label files copy it (155 for `155Y`). */
  ageYears2017: number;
  age2020: number;
  sex: Sex;
  view: View;
  size: [number, number];
  /** [as the 2017 and label files write it, as v2020 writes it] */
  spacing: [string, string];
  findings2017: Finding[];
  findings2020: Finding[];
  split: Split;
}

const SIZES: [number, number][] = [
  [2500, 2048],
  [2992, 2991],
  [3056, 2544],
  [2048, 2500],
  [2021, 2021],
];
const SPACINGS: [string, string][] = [
  ['0.143', '0.14300000000000002'],
  ['0.168', '0.168'],
  ['0.139', '0.139'],
  ['0.171', '0.171'],
  ['0.194311', '0.19431099999999998'],
];
/** Rough NIH prevalences, so that counts look plausible. */
const PREVALENCE: Record<Finding, number> = {
  Atelectasis: 0.1,
  Cardiomegaly: 0.025,
  Consolidation: 0.04,
  Edema: 0.02,
  Effusion: 0.12,
  Emphysema: 0.022,
  Fibrosis: 0.015,
  Hernia: 0.005,
  Infiltration: 0.18,
  Mass: 0.05,
  Nodule: 0.056,
  Pleural_Thickening: 0.03,
  Pneumonia: 0.013,
  Pneumothorax: 0.047,
};

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Patients with 1..n follow-ups, a patient-disjoint split, and the 2017/v2020 quirks of the real files: a few
 * month and day ages, a few impossible ages, renumbered follow-ups, re-labelled findings. Every finding
 * appears at least once.
 */
export function syntheticImages(rnd: Random, count: number): SynImage[] {
  const images: SynImage[] = [];
  let patient = 0;
  while (images.length < count) {
    patient++;
    const n = Math.min(count - images.length, 1 + Math.floor(-Math.log(1 - rnd.next()) * 2.5));
    const split: Split = rnd.chance(0.25) ? 'test' : 'train_val';
    const renumbered = rnd.chance(0.2);
    const sex: Sex = rnd.chance(0.56) ? 'M' : 'F';
    const firstAge = rnd.int(1, 88);
    const visit = visitOrder(rnd, n, renumbered);
    for (let k = 0; k < n; k++) {
      const i = images.length;
      const findings = FINDINGS.filter((f) => rnd.chance(PREVALENCE[f]) || i === FINDINGS.indexOf(f));
      const age2020 = Math.min(120, firstAge + Math.floor(visit[k]! / 3));
      const size = rnd.pick(SIZES);
      images.push({
        id: `${pad(patient, 8)}_${pad(k, 3)}`,
        patient,
        followUp: k,
        followUp2020: visit[k]!,
        age2017: `${pad(rnd.chance(0.25) ? age2020 + 1 : age2020, 3)}Y`,
        ageYears2017: age2020,
        age2020,
        sex,
        view: rnd.chance(0.6) ? 'PA' : 'AP',
        size: rnd.chance(0.1) ? [rnd.int(1200, 3000), rnd.int(1000, 3000)] : size,
        spacing: rnd.pick(SPACINGS),
        findings2017: findings,
        findings2020: findings,
        split,
      });
    }
  }
  quirks(rnd, images);
  return images;
}

/**
 * The v2020 follow-up of each image (by image-id order): a permutation of 0..n-1, as in the real file, where
 * (patient, follow-up) is unique, follow-ups run 0..n-1, and ages never fall as follow-ups rise. A renumbered
 * patient (the real file renumbered 24,106 images) has some neighbouring visits swapped.
 */
function visitOrder(rnd: Random, n: number, renumbered: boolean): number[] {
  const order = Array.from({ length: n }, (_, k) => k);
  if (!renumbered) return order;
  for (let k = 0; k + 1 < n; k += 2) {
    if (rnd.chance(0.5)) [order[k], order[k + 1]] = [order[k + 1]!, order[k]!];
  }
  return order;
}

function quirks(rnd: Random, images: SynImage[]): void {
  const some = (k: number) => rnd.sample(images.slice(FINDINGS.length), k);
  // Children: ages in months and days in the 2017 file, whole years in v2020. Only patients with a single
  // image, so that a patient's v2020 ages still never fall as follow-ups rise.
  const perPatient = new Map<number, number>();
  for (const img of images) perPatient.set(img.patient, (perPatient.get(img.patient) ?? 0) + 1);
  const single = images.slice(FINDINGS.length).filter((img) => perPatient.get(img.patient) === 1);
  for (const [i, img] of rnd.sample(single, 5).entries()) {
    const months = rnd.int(1, 23);
    img.age2017 = i === 0 ? '001D' : `${pad(months, 3)}M`;
    img.ageYears2017 = img.age2020 = i === 0 ? 0 : Math.floor(months / 12);
  }
  // Impossible ages in the 2017 file, fixed in v2020; the label files copied them (as the real 155).
  for (const [i, img] of some(3).entries()) {
    img.ageYears2017 = [412, 148, 155][i]!;
    img.age2017 = `${img.ageYears2017}Y`;
  }
  // v2020 added findings to a few images (181 in the real files).
  for (const img of some(4)) {
    const extra = FINDINGS.find((f) => !img.findings2020.includes(f))!;
    img.findings2020 = FINDINGS.filter((f) => f === extra || img.findings2020.includes(f));
  }
}
