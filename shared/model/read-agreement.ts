/**
 * Whether the individual expert reads of an image agree, label by label: what GET /v1/images/{imageId}
 * shows next to the reads. Derived from `expert.readers` when the record is served, so nothing new is
 * stored and it can never disagree with the reads.
 */
import * as z from 'zod';
import { FINDINGS, FOUR_FINDINGS, READER_VALUES } from './findings.ts';
import type { ReaderLabels, ReaderStudy } from './record.ts';

/** All-findings reader labels, in the source file's column order: abnormal, the 14 NIH findings, other. */
export const ALL_FINDINGS_LABELS = ['abnormal', ...FINDINGS, 'other'] as const;

export const LabelReadsSchema = z.object({
  unanimous: z
    .boolean()
    .describe('Every read of this label has the same value (HEDGE is a value of its own).'),
  reads: z
    .object({ YES: z.int(), NO: z.int(), HEDGE: z.int() })
    .describe('How many readers gave each value.'),
});
export type LabelReads = z.infer<typeof LabelReadsSchema>;

const perLabel = (labels: readonly string[]) =>
  z.object(
    Object.fromEntries(labels.map((l) => [l, LabelReadsSchema])) as Record<string, typeof LabelReadsSchema>,
  );

export const ReadAgreementSchema = z
  .object({
    fourFindings: perLabel(FOUR_FINDINGS).nullable().describe('null: no four-findings reads of this image.'),
    allFindings: perLabel(ALL_FINDINGS_LABELS)
      .nullable()
      .describe('null: no all-findings reads of this image.'),
  })
  .describe('Per expert label, whether the individual reads were unanimous, and the count of each value.');
export type ReadAgreement = z.infer<typeof ReadAgreementSchema>;

function study(readers: readonly ReaderLabels[], s: ReaderStudy, labels: readonly string[]) {
  const mine = readers.filter((r) => r.study === s);
  if (mine.length === 0) return null;
  const out: Record<string, LabelReads> = {};
  for (const label of labels) {
    const reads = { YES: 0, NO: 0, HEDGE: 0 };
    for (const r of mine) {
      const v = r.labels[label];
      if (v !== undefined) reads[v] += 1;
    }
    out[label] = { unanimous: READER_VALUES.filter((v) => reads[v] > 0).length <= 1, reads };
  }
  return out;
}

/** The agreement of an image's reads, per study and label. */
export function readAgreement(readers: readonly ReaderLabels[]): ReadAgreement {
  return {
    fourFindings: study(readers, 'fourFindings', FOUR_FINDINGS),
    allFindings: study(readers, 'allFindings', ALL_FINDINGS_LABELS),
  };
}
