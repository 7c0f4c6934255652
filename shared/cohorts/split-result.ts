import * as z from 'zod';
import { FINDINGS, NO_FINDING } from '../model/findings.ts';
import { splitColumns } from './compile-cohort.ts';
import type { SplitSpec } from './dataset-options.ts';
import type { PlainRow } from './results.ts';

/** Built on first use (a parse or the OpenAPI document), not when a cold instance loads the module. */
export const CohortSplitSchema = z.lazy(() => {
  const FindingCountsSchema = z.object(
    Object.fromEntries([...FINDINGS, NO_FINDING].map((k) => [k, z.int()])) as Record<
      (typeof FINDINGS)[number] | typeof NO_FINDING,
      z.ZodInt
    >,
  );
  const SplitPartSchema = z.object({
    name: z.string(),
    fraction: z.number().describe('As requested.'),
    images: z.int(),
    patients: z.int(),
    findings: FindingCountsSchema.describe('Images per NIH finding, and "No Finding".'),
  });
  return z.object({
    totalImages: z.int(),
    totalPatients: z.int(),
    parts: z
      .array(SplitPartSchema)
      .describe('In the order the request named them; no patient is in two parts.'),
  });
});
export type CohortSplit = z.infer<typeof CohortSplitSchema>;

/** The rows of compileSplit (one per part holding any patient) as the response: every part, zeros included. */
export function decodeSplit(rows: readonly PlainRow[], spec: SplitSpec): CohortSplit {
  const byIndex = new Map(rows.map((r) => [Number(r.part_index), r]));
  const cols = splitColumns();
  const parts = Object.entries(spec.parts).map(([name, fraction], i) => {
    const r = byIndex.get(i) ?? {};
    const get = (c: string) => (r[c] === null || r[c] === undefined ? 0 : Number(r[c]));
    if (byIndex.has(i)) for (const c of cols) if (!(c in r)) throw new Error(`split row lacks column ${c}`);
    return {
      name,
      fraction,
      images: get('images'),
      patients: get('patients'),
      findings: Object.fromEntries([
        ...FINDINGS.map((f, k) => [f, get(`finding_${k}`)]),
        [NO_FINDING, get('no_finding')],
      ]) as CohortSplit['parts'][number]['findings'],
    };
  });
  return {
    totalImages: parts.reduce((a, p) => a + p.images, 0),
    totalPatients: parts.reduce((a, p) => a + p.patients, 0),
    parts,
  };
}
