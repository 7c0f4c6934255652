/**
 * The reader-level parts of the cohort SQL: filters on the individual reads (disputed, hedged, one reader's
 * read) and the summary's disputed / hedged counts. Reads live in cohort_readers, one row per (image,
 * study, reader, label) (the loader already kept only the first read of a reader who labelled an image
 * twice), so every predicate is an uncorrelated semi-join `image_id IN (SELECT image_id FROM readers ...)`
 * that both engines run as a hash join. Label lists and reader ids travel as parameters; the study names
 * and label names written into the text are the schema's own constants.
 */
import { FOUR_FINDINGS } from '../model/findings.ts';
import { READER_COLUMNS, type ReaderColumnName } from './columns.ts';
import type { CohortFilter } from './filter.ts';
import { ALL_FINDINGS_LABELS, studyOfLabel } from './reader-labels.ts';
import { IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import { column, type Dialect, type ParamType, type ParamValue } from './sql-dialect.ts';

const READER_NAMES: ReadonlySet<string> = new Set(READER_COLUMNS.map((c) => c.name));

/** A column of cohort_readers, checked against the declared schema. */
export function readerColumn(name: ReaderColumnName): string {
  if (!READER_NAMES.has(name)) throw new Error(`column ${name} is not in the reader schema`);
  return name;
}

type Param = (name: string, type: ParamType, value: ParamValue) => string;

/** A string constant of the schema (never a request value) as an SQL literal. */
export function literal(s: string): string {
  if (!/^[A-Za-z_]+$/.test(s)) throw new Error(`not a schema constant: ${JSON.stringify(s)}`);
  return `'${s}'`;
}

/** The reader-level predicates of a filter; `p` registers a parameter and returns its reference. */
export function readerPredicates(f: CohortFilter, d: Dialect, p: Param): string[] {
  const preds: string[] = [];
  const readers = d.table(READERS_TABLE);
  const [img, study, label, value, reader] = [
    readerColumn('image_id'),
    readerColumn('study'),
    readerColumn('label'),
    readerColumn('value'),
    readerColumn('reader_id'),
  ];
  const semiJoin = (where: string, tail = '') =>
    `${column('image_id')} IN (SELECT ${img} FROM ${readers} WHERE ${where}${tail})`;
  const disputed = (s: 'fourFindings' | 'allFindings', param: string, labels: readonly string[]) => {
    p(param, 'ARRAY<STRING>', [...labels]);
    const where = `${study} = ${literal(s)} AND ${d.inArray(label, param)}`;
    return semiJoin(where, ` GROUP BY ${img}, ${label} HAVING COUNT(DISTINCT ${value}) > 1`);
  };
  const ff = f.expert?.fourFindings;
  if (ff?.disputed) preds.push(disputed('fourFindings', 'ffDisputed', ff.disputed));
  if (ff?.hedged) {
    p('ffHedged', 'ARRAY<STRING>', [...ff.hedged]);
    const where = `${study} = ${literal('fourFindings')} AND ${d.inArray(label, 'ffHedged')}`;
    preds.push(semiJoin(`${where} AND ${value} = ${literal('HEDGE')}`));
  }
  const af = f.expert?.allFindings;
  if (af?.disputed) preds.push(disputed('allFindings', 'afDisputed', af.disputed));
  const r = f.expert?.reader;
  if (r) {
    const where = [
      // The study travels as a parameter too: the text depends on which parts are present, never on values.
      `${study} = ${p('readerStudy', 'STRING', studyOfLabel(r.finding))}`,
      `${reader} = ${p('readerId', 'STRING', r.id)}`,
      `${label} = ${p('readerLabel', 'STRING', r.finding)}`,
      `${value} = ${p('readerValue', 'STRING', r.value)}`,
    ];
    preds.push(semiJoin(where.join(' AND ')));
  }
  return preds;
}

/** The labels the summary counts, with the column-name stem of each (index-based: NIH names have spaces). */
export const SUMMARY_READER_LABELS = {
  fourFindings: FOUR_FINDINGS.map((l, i) => ({
    label: l,
    disputed: `ff_disputed_${i}`,
    hedged: `ff_hedged_${i}`,
  })),
  allFindings: ALL_FINDINGS_LABELS.map((l, i) => ({ label: l, disputed: `af_disputed_${i}` })),
};

export function readerSummaryColumns(): string[] {
  return [
    ...SUMMARY_READER_LABELS.fourFindings.flatMap((x) => [x.disputed, x.hedged]),
    ...SUMMARY_READER_LABELS.allFindings.map((x) => x.disputed),
  ];
}

/**
 * One row: per label, how many images of the cohort (those matching `where` in cohort_images) that carry
 * that study's adjudicated labels have disputed reads, and (four findings) at least one HEDGE: the same
 * images the filters expert.fourFindings.disputed / hedged and expert.allFindings.disputed select. Only the
 * expert-labelled images (a few thousand) are joined; reads are grouped per (label, image) once, then per
 * label, and only the per-label rows are pivoted into columns.
 */
export function readerSummarySql(where: string, d: Dialect): string {
  const [img, study, label, value] = [
    readerColumn('image_id'),
    readerColumn('study'),
    readerColumn('label'),
    readerColumn('value'),
  ];
  const [ffSet, afMask] = [column('ff_set'), column('af_findings_mask')];
  const pick = (s: string, l: string, flag: string) =>
    `SUM(CASE WHEN ${study} = ${literal(s)} AND ${label} = ${literal(l)} THEN ${flag} ELSE 0 END)`;
  const cols = [
    ...SUMMARY_READER_LABELS.fourFindings.flatMap((x) => [
      `${pick('fourFindings', x.label, 'disputed')} AS ${x.disputed}`,
      `${pick('fourFindings', x.label, 'hedged')} AS ${x.hedged}`,
    ]),
    ...SUMMARY_READER_LABELS.allFindings.map(
      (x) => `${pick('allFindings', x.label, 'disputed')} AS ${x.disputed}`,
    ),
  ];
  return `SELECT
  ${cols.join(',\n  ')}
FROM (
  SELECT ${study}, ${label}, SUM(disputed) AS disputed, SUM(hedged) AS hedged
  FROM (
    SELECT r.${study}, r.${label}, r.${img},
      CASE WHEN MIN(r.${value}) <> MAX(r.${value}) THEN 1 ELSE 0 END AS disputed,
      MAX(CASE WHEN r.${value} = ${literal('HEDGE')} THEN 1 ELSE 0 END) AS hedged
    FROM ${d.table(READERS_TABLE)} AS r
    JOIN (
      SELECT ${column('image_id')}, ${ffSet} IS NOT NULL AS has_ff, ${afMask} IS NOT NULL AS has_af
      FROM ${d.table(IMAGES_TABLE)}
      WHERE (${ffSet} IS NOT NULL OR ${afMask} IS NOT NULL)
        AND ${where}
    ) AS labelled ON r.${img} = labelled.${column('image_id')}
    WHERE (r.${study} = ${literal('fourFindings')} AND labelled.has_ff)
      OR (r.${study} = ${literal('allFindings')} AND labelled.has_af)
    GROUP BY r.${study}, r.${label}, r.${img}
  ) AS per_image_label
  GROUP BY ${study}, ${label}
) AS per_label`;
}
