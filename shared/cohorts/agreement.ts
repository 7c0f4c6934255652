/**
 * Label quality: how the NIH labels, or each expert reader, agree with the adjudicated expert labels on a
 * cohort. The counting is one SQL statement per request (either dialect), so it scales with the cohort and
 * returns a handful of rows; the statistics are computed here from those counts.
 */
import { FINDINGS, type Finding, FOUR_FINDINGS, type FourFinding } from '../model/findings.ts';
import { cohenKappa, fleissKappa, type Matrix } from '../stats/kappa.ts';
import { wilson } from '../stats/proportion.ts';
import type { AgreementCompare, AgreementReference, AgreementResult } from './agreement-result.ts';
import { type CompiledSql, compileWhere } from './compile.ts';
import { literal, readerColumn } from './compile-readers.ts';
import type { CohortFilter } from './filter.ts';
import {
  ALL_FINDINGS_LABELS,
  type AllFindingsLabel,
  allFindingsNih,
  FOUR_FINDINGS_COLUMNS,
  FOUR_FINDINGS_NIH,
  type ReaderLabel,
} from './reader-labels.ts';
import type { PlainRow } from './results.ts';
import { findingsMask } from './rows.ts';
import { IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import { column, type Dialect } from './sql-dialect.ts';

export {
  type AgreementCompare,
  AgreementCompareSchema,
  AgreementFindingSchema,
  type AgreementReference,
  AgreementReferenceSchema,
  type AgreementResult,
  AgreementResultSchema,
} from './agreement-result.ts';

/** A validated agreement request (the filter already checked by CohortFilterSchema). */
export interface AgreementQuery {
  filter: CohortFilter;
  finding: ReaderLabel;
  reference: AgreementReference;
  compare: AgreementCompare;
}

const FOUR: ReadonlySet<string> = new Set(FOUR_FINDINGS);
const ALL: ReadonlySet<string> = new Set(ALL_FINDINGS_LABELS);

/** The NIH findings that stand for the label (any of them counts as positive), or null when none does. */
export function nihCounterpart(
  reference: AgreementReference,
  finding: ReaderLabel,
): readonly Finding[] | null {
  if (reference === 'fourFindings') return FOUR_FINDINGS_NIH[finding as FourFinding] ?? null;
  return allFindingsNih(finding as AllFindingsLabel);
}

/** Why a (finding, reference, compare) combination cannot be answered, or null; the route turns it into a 400. */
export function agreementProblem(q: Omit<AgreementQuery, 'filter'>): string | null {
  if (q.reference === 'fourFindings' && !FOUR.has(q.finding)) {
    return `${q.finding} is not a four-findings label: use fracture, pneumothorax, airspaceOpacity or noduleOrMass`;
  }
  if (q.reference === 'allFindings' && !ALL.has(q.finding)) {
    return `${q.finding} is not an all-findings label: use an NIH finding name, abnormal or other`;
  }
  if (q.compare === 'nih' && nihCounterpart(q.reference, q.finding) === null) {
    return `${q.finding} has no NIH counterpart (the documented mapping: pneumothorax -> Pneumothorax, noduleOrMass -> Nodule or Mass, each NIH finding -> itself, abnormal -> not No Finding); compare it with readers instead`;
  }
  return null;
}

/** The adjudicated truth of the label as a BOOL expression over cohort_images, and the rows that carry it. */
function truth(q: AgreementQuery): { expr: string; present: string } {
  if (q.reference === 'fourFindings') {
    return {
      expr: column(FOUR_FINDINGS_COLUMNS[q.finding as FourFinding]),
      present: `${column('ff_set')} IS NOT NULL`,
    };
  }
  const present = `${column('af_findings_mask')} IS NOT NULL`;
  if (q.finding === 'abnormal') return { expr: column('af_abnormal'), present };
  if (q.finding === 'other') return { expr: column('af_other'), present };
  const bit = FINDINGS.indexOf(q.finding as Finding);
  if (bit < 0) throw new Error(`no all-findings truth for ${q.finding}`);
  return { expr: `((${column('af_findings_mask')} >> ${bit}) & 1) = 1`, present };
}

const sum = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;

/** The counting statement of an agreement request. */
export function compileAgreement(q: AgreementQuery, d: Dialect): CompiledSql {
  const problem = agreementProblem(q);
  if (problem) throw new Error(problem);
  const w = compileWhere(q.filter, d);
  return q.compare === 'nih'
    ? compileNihAgreement(q, d, w, truth(q))
    : compileReadersAgreement(q, d, w, truth(q));
}

type Where = Pick<CompiledSql, 'sql' | 'params'>;
type Truth = ReturnType<typeof truth>;

/** NIH label vs adjudicated label: one row, the 2x2 counts. */
function compileNihAgreement(q: AgreementQuery, d: Dialect, w: Where, t: Truth): CompiledSql {
  const nih = nihCounterpart(q.reference, q.finding) ?? [];
  const test = `(${column('findings_mask')} & ${findingsMask(nih)}) <> 0`;
  const columns = ['cohort_images', 'tp', 'fp', 'fn', 'tn'];
  const exprs = [
    'COUNT(*)',
    sum(`(${test}) AND (${t.expr})`),
    sum(`(${test}) AND NOT (${t.expr})`),
    sum(`NOT (${test}) AND (${t.expr})`),
    sum(`NOT (${test}) AND NOT (${t.expr})`),
  ];
  const sql = `SELECT
  ${exprs.map((e, i) => `${e} AS ${columns[i]}`).join(',\n  ')}
FROM ${d.table(IMAGES_TABLE)}
WHERE ${t.present}
  AND ${w.sql}`;
  return { sql, params: w.params, columns };
}

/** Output columns of the readers statement: the Fleiss counts (repeated on each row), then one reader. */
const READERS_AGREEMENT_COLUMNS = [
  'cohort_images',
  'fleiss_images',
  'fleiss_agreement',
  'fleiss_yes',
  'fleiss_no',
  'fleiss_hedge',
  'reader_id',
  'reads',
  'tp',
  'fp',
  'fn',
  'tn',
  'hedged',
] as const;

/** Each read vs adjudicated label: one row per reader, with the per-image category counts for Fleiss. */
function compileReadersAgreement(q: AgreementQuery, d: Dialect, w: Where, t: Truth): CompiledSql {
  const images = d.table(IMAGES_TABLE);
  const [rImage, rStudy, rLabel, rValue, rReader] = [
    readerColumn('image_id'),
    readerColumn('study'),
    readerColumn('label'),
    readerColumn('value'),
    readerColumn('reader_id'),
  ];
  const is = (v: 'YES' | 'NO' | 'HEDGE') => `${rValue} = ${literal(v)}`;
  const params = { ...w.params, agreementLabel: { type: 'STRING' as const, value: q.finding } };
  const sql = `WITH cohort AS (
  SELECT ${column('image_id')}, (${t.expr}) AS truth
  FROM ${images}
  WHERE ${t.present}
    AND ${w.sql}
), label_reads AS (
  SELECT r.${rReader}, r.${rImage}, r.${rValue}, cohort.truth
  FROM ${d.table(READERS_TABLE)} AS r
  JOIN cohort ON r.${rImage} = cohort.${column('image_id')}
  WHERE r.${rStudy} = ${literal(q.reference)} AND r.${rLabel} = ${d.param('agreementLabel')}
), per_reader AS (
  SELECT ${rReader},
    COUNT(*) AS reads,
    ${sum(`${is('YES')} AND truth`)} AS tp,
    ${sum(`${is('YES')} AND NOT truth`)} AS fp,
    ${sum(`${is('NO')} AND truth`)} AS fn,
    ${sum(`${is('NO')} AND NOT truth`)} AS tn,
    ${sum(is('HEDGE'))} AS hedged
  FROM label_reads
  GROUP BY ${rReader}
), per_image AS (
  SELECT ${rImage},
    COUNT(*) AS n,
    ${sum(is('YES'))} AS n_yes,
    ${sum(is('NO'))} AS n_no,
    ${sum(is('HEDGE'))} AS n_hedge
  FROM label_reads
  GROUP BY ${rImage}
), fleiss AS (
  SELECT
    (SELECT COUNT(*) FROM cohort) AS cohort_images,
    COUNT(*) AS fleiss_images,
    SUM((n_yes * n_yes + n_no * n_no + n_hedge * n_hedge - n) / (n * (n - 1))) AS fleiss_agreement,
    SUM(n_yes) AS fleiss_yes,
    SUM(n_no) AS fleiss_no,
    SUM(n_hedge) AS fleiss_hedge
  FROM per_image
  WHERE n >= 2
)
SELECT fleiss.*, per_reader.*
FROM fleiss LEFT JOIN per_reader ON TRUE
ORDER BY per_reader.${rReader}`;
  return { sql, params, columns: [...READERS_AGREEMENT_COLUMNS] };
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function matrixOf(r: PlainRow): Matrix {
  return { tp: num(r.tp), fp: num(r.fp), fn: num(r.fn), tn: num(r.tn) };
}

/** The statistics of an agreement request from the rows of its compiled statement. */
export function decodeAgreement(q: AgreementQuery, rows: readonly PlainRow[]): AgreementResult {
  const first = rows[0] ?? {};
  const base = { finding: q.finding, reference: q.reference, images: num(first.cohort_images) };
  if (q.compare === 'nih') {
    const m = matrixOf(first);
    return {
      compare: 'nih',
      ...base,
      nihFindings: [...(nihCounterpart(q.reference, q.finding) ?? [])],
      matrix: m,
      sensitivity: wilson(m.tp, m.tp + m.fn),
      specificity: wilson(m.tn, m.tn + m.fp),
      ppv: wilson(m.tp, m.tp + m.fp),
      npv: wilson(m.tn, m.tn + m.fn),
      kappa: cohenKappa(m),
    };
  }
  const readers = rows
    .filter((r) => r.reader_id !== null && r.reader_id !== undefined)
    .map((r) => {
      const m = matrixOf(r);
      return {
        readerId: String(r.reader_id),
        images: num(r.reads),
        hedged: num(r.hedged),
        matrix: m,
        sensitivity: wilson(m.tp, m.tp + m.fn),
        specificity: wilson(m.tn, m.tn + m.fp),
        kappa: cohenKappa(m),
      };
    });
  const reads = { YES: num(first.fleiss_yes), NO: num(first.fleiss_no), HEDGE: num(first.fleiss_hedge) };
  const fleissImages = num(first.fleiss_images);
  return {
    compare: 'readers',
    ...base,
    readers,
    fleiss: {
      kappa: fleissKappa({
        images: fleissImages,
        sumAgreement: num(first.fleiss_agreement),
        categoryTotals: [reads.YES, reads.NO, reads.HEDGE],
      }),
      images: fleissImages,
      reads,
    },
  };
}
