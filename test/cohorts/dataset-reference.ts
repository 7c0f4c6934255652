/**
 * The in-memory reference of onePerPatient, sample and split: plain loops over ImageRecords, node:crypto for
 * the keys, no SQL and no code shared with compile-cohort.ts. The stores must agree with it exactly.
 */
import { createHash } from 'node:crypto';
import type { CohortOptions, SplitSpec, Stratum } from '../../shared/cohorts/dataset-options.ts';
import type { CohortFilter } from '../../shared/cohorts/filter.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { matches } from './reference.ts';

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const ORDER: Stratum[] = ['sex', 'view', 'split', 'ageBand', 'noFinding'];

/** The documented stratum key: attributes in the fixed order, joined by `|`. */
export function stratumOf(r: ImageRecord, by: readonly Stratum[] | undefined): string {
  return ORDER.filter((s) => by?.includes(s))
    .map((s) => {
      if (s === 'sex') return r.patientSex;
      if (s === 'view') return r.viewPosition;
      if (s === 'split') return r.split;
      if (s === 'ageBand')
        return r.patientAge === null ? 'unknown' : String(Math.floor(r.patientAge / 10) * 10);
      return r.findings.length === 0 ? 'noFinding' : 'finding';
    })
    .join('|');
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function onePerPatient(
  rs: readonly ImageRecord[],
  mode: CohortOptions['onePerPatient'],
): ImageRecord[] {
  if (!mode) return [...rs];
  const best = new Map<number, ImageRecord>();
  for (const r of rs) {
    const b = best.get(r.patientId);
    const better =
      mode === 'firstFollowUp' ? (x: number, y: number) => x < y : (x: number, y: number) => x > y;
    if (!b || better(r.followUp, b.followUp)) best.set(r.patientId, r);
  }
  return [...best.values()];
}

/** Largest-remainder quotas of `wanted` over the strata sizes; ties go to the smaller stratum key. */
export function quotas(sizes: Map<string, number>, wanted: number): Map<string, number> {
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const rows = [...sizes].map(([k, n]) => ({
    k,
    base: Math.floor((wanted * n) / total),
    rem: (wanted * n) % total,
  }));
  let left = wanted - rows.reduce((a, r) => a + r.base, 0);
  rows.sort((a, b) => b.rem - a.rem || cmp(a.k, b.k));
  const out = new Map<string, number>();
  for (const r of rows) out.set(r.k, r.base + (left-- > 0 ? 1 : 0));
  return out;
}

export function sample(rs: readonly ImageRecord[], s: NonNullable<CohortOptions['sample']>): ImageRecord[] {
  const groups = new Map<string, ImageRecord[]>();
  for (const r of rs) {
    const k = stratumOf(r, s.stratifyBy);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const q = quotas(new Map([...groups].map(([k, g]) => [k, g.length])), Math.min(s.size, rs.length));
  const out: ImageRecord[] = [];
  for (const [k, g] of groups) {
    const keyed = g.map((r) => ({ r, key: sha256Hex(`${s.seed}:${r.imageId}`) }));
    keyed.sort((a, b) => cmp(a.key, b.key) || cmp(a.r.imageId, b.r.imageId));
    out.push(...keyed.slice(0, q.get(k)).map((x) => x.r));
  }
  return out;
}

/** patientId -> part index, as documented: spread each stratum over [0, 1), merge, cut at the fractions. */
export function splitPatients(rs: readonly ImageRecord[], spec: SplitSpec): Map<number, number> {
  const first = new Map<number, ImageRecord>();
  for (const r of rs) {
    const b = first.get(r.patientId);
    if (!b || r.followUp < b.followUp) first.set(r.patientId, r);
  }
  const strata = new Map<string, { p: number; key: string }[]>();
  for (const [p, r] of first) {
    const k = stratumOf(r, spec.stratifyBy);
    const x = { p, key: sha256Hex(`${spec.seed}:${p}`) };
    const list = strata.get(k);
    if (list) list.push(x);
    else strata.set(k, [x]);
  }
  const spread: { p: number; key: string; stratum: string; num: number; den: number }[] = [];
  for (const [stratum, ps] of strata) {
    ps.sort((a, b) => cmp(a.key, b.key) || a.p - b.p);
    ps.forEach((x, i) => {
      spread.push({ ...x, stratum, num: 2 * i + 1, den: 2 * ps.length });
    });
  }
  // Exact rational order (cross-multiplied), then stratum, key, patient.
  spread.sort(
    (a, b) => a.num * b.den - b.num * a.den || cmp(a.stratum, b.stratum) || cmp(a.key, b.key) || a.p - b.p,
  );
  const fractions = Object.values(spec.parts);
  const total = spread.length;
  const cuts: number[] = [];
  let cum = 0;
  // Cut at the cumulative fraction in exact millionths (fractions are given to at most six decimals).
  for (const f of fractions.slice(0, -1)) {
    cum += f;
    const millionths = Math.round(cum * 1e6);
    cuts.push(Math.floor((millionths * total + 500_000) / 1e6));
  }
  const out = new Map<number, number>();
  spread.forEach((x, position) => {
    const part = cuts.findIndex((c) => position < c);
    out.set(x.p, part === -1 ? fractions.length - 1 : part);
  });
  return out;
}

/** The image records of a cohort after filter, onePerPatient and sample, sorted by image id. */
export function expectedCohort(
  records: readonly ImageRecord[],
  f: CohortFilter,
  o: CohortOptions,
): ImageRecord[] {
  let rs = onePerPatient(
    records.filter((r) => matches(r, f)),
    o.onePerPatient,
  );
  if (o.sample) rs = sample(rs, o.sample);
  return rs.sort((a, b) => cmp(a.imageId, b.imageId));
}
