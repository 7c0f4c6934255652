import { FINDINGS, type Finding, SEXES, SPLITS, VIEWS } from '../model/findings.ts';
import { readerPredicates, readerSummaryColumns, readerSummarySql } from './compile-readers.ts';
import type { CohortFilter } from './filter.ts';
import { findingsMask, imageKey } from './rows.ts';
import { IMAGES_TABLE } from './schema.ts';
import { column as c, type Dialect, type ParamType, type ParamValue, type SqlParam } from './sql-dialect.ts';

/**
 * One compiler, two dialects. The SQL text depends only on which parts of the filter are present, never on
 * their values: every value travels as a named parameter, and every identifier comes from the declared
 * schema (column()) or from configuration checked at start-up (Dialect.table).
 */
export interface CompiledSql {
  sql: string;
  params: Record<string, SqlParam>;
  /** Output column names, in order. */
  columns: string[];
}

interface Where {
  sql: string;
  params: Record<string, SqlParam>;
}

export function compileWhere(f: CohortFilter, d: Dialect): Where {
  const preds: string[] = [];
  const params: Record<string, SqlParam> = {};
  const p = (name: string, type: ParamType, value: ParamValue) => {
    params[name] = { type, value };
    return d.param(name);
  };
  /** (col & mask) = mask: every bit of the mask is set. */
  const hasAll = (col: string, name: string, fs: readonly Finding[]) => {
    const ref = p(name, 'INT64', findingsMask(fs));
    return `(${col} & ${ref}) = ${ref}`;
  };
  const mask = (fs: readonly Finding[]) => findingsMask(fs);

  const fm = c('findings_mask');
  if (f.findings?.all) preds.push(hasAll(fm, 'findingsAll', f.findings.all));
  if (f.findings?.any) preds.push(`(${fm} & ${p('findingsAny', 'INT64', mask(f.findings.any))}) <> 0`);
  if (f.findings?.none) preds.push(`(${fm} & ${p('findingsNone', 'INT64', mask(f.findings.none))}) = 0`);
  if (f.noFinding !== undefined) preds.push(`(${fm} = 0) = ${p('noFinding', 'BOOL', f.noFinding)}`);
  if (f.age?.min !== undefined) preds.push(`${c('patient_age')} >= ${p('ageMin', 'INT64', f.age.min)}`);
  if (f.age?.max !== undefined) preds.push(`${c('patient_age')} <= ${p('ageMax', 'INT64', f.age.max)}`);
  const inList = (col: string, name: string, type: ParamType, value: string[] | number[]) => {
    p(name, type, value);
    preds.push(d.inArray(col, name));
  };
  if (f.sex) inList(c('patient_sex'), 'sex', 'ARRAY<STRING>', [...f.sex]);
  if (f.view) inList(c('view_position'), 'view', 'ARRAY<STRING>', [...f.view]);
  if (f.split) inList(c('split'), 'split', 'ARRAY<STRING>', [...f.split]);
  if (f.patientIds) inList(c('patient_id'), 'patientIds', 'ARRAY<INT64>', [...f.patientIds]);
  if (f.hasBoundingBox !== undefined) {
    preds.push(`${c('has_bounding_box')} = ${p('hasBoundingBox', 'BOOL', f.hasBoundingBox)}`);
  }

  const ff = f.expert?.fourFindings;
  if (ff) {
    preds.push(`${c('ff_set')} IS NOT NULL`);
    const flag = (col: string, name: string, v: boolean | undefined) => {
      if (v !== undefined) preds.push(`${col} = ${p(name, 'BOOL', v)}`);
    };
    flag(c('ff_fracture'), 'ffFracture', ff.fracture);
    flag(c('ff_pneumothorax'), 'ffPneumothorax', ff.pneumothorax);
    flag(c('ff_airspace_opacity'), 'ffAirspaceOpacity', ff.airspaceOpacity);
    flag(c('ff_nodule_or_mass'), 'ffNoduleOrMass', ff.noduleOrMass);
    if (ff.set) inList(c('ff_set'), 'ffSet', 'ARRAY<STRING>', [...ff.set]);
  }
  const af = f.expert?.allFindings;
  if (af) {
    const am = c('af_findings_mask');
    preds.push(`${am} IS NOT NULL`);
    if (af.abnormal !== undefined)
      preds.push(`${c('af_abnormal')} = ${p('afAbnormal', 'BOOL', af.abnormal)}`);
    if (af.other !== undefined) preds.push(`${c('af_other')} = ${p('afOther', 'BOOL', af.other)}`);
    if (af.findings) {
      const yes = FINDINGS.filter((n) => af.findings?.[n] === true);
      const no = FINDINGS.filter((n) => af.findings?.[n] === false);
      preds.push(hasAll(am, 'afYes', yes));
      preds.push(`(${am} & ${p('afNo', 'INT64', mask(no))}) = 0`);
    }
  }
  preds.push(...readerPredicates(f, d, p));
  return { sql: preds.length ? preds.join('\n  AND ') : 'TRUE', params };
}

/** The columns every image row starts with, in a page and in either export: the image, its patient and view. */
export const IMAGE_HEAD_COLUMNS = [
  'image_id',
  'patient_id',
  'follow_up',
  'patient_age',
  'patient_sex',
  'view_position',
] as const;

/**
 * Columns of one image in a query page and in an export. Findings travel as the 14-bit mask, not the
 * string array: top-N and scans stay narrow (the array costs more in DuckDB's sort and BigQuery's bytes).
 */
export const PAGE_COLUMNS = [...IMAGE_HEAD_COLUMNS, 'split', 'findings_mask'] as const;
export const EXPORT_COLUMNS = [...PAGE_COLUMNS, 'has_bounding_box'] as const;

/**
 * One page (keyset on image_key, which orders exactly like image_id but sorts as an integer) plus the
 * totals of the whole cohort, in one statement. The filter is repeated rather than shared through a CTE so
 * that neither engine materialises the matched rows. `after` is an image id from a verified page token.
 */
export function compileQuery(
  f: CohortFilter,
  page: { after: string; limit: number },
  d: Dialect,
): CompiledSql {
  const w = compileWhere(f, d);
  const cols = PAGE_COLUMNS.map(c);
  const key = c('image_key');
  const table = d.table(IMAGES_TABLE);
  const params = {
    ...w.params,
    afterKey: { type: 'INT64', value: page.after === '' ? -1 : imageKey(page.after) },
    pageLimit: { type: 'INT64', value: page.limit },
  } satisfies Record<string, SqlParam>;
  const sql = `WITH totals AS (
  SELECT COUNT(*) AS total_images, COUNT(DISTINCT ${c('patient_id')}) AS total_patients
  FROM ${table}
  WHERE ${w.sql}
), page AS (
  SELECT ${cols.join(', ')}, ${key}
  FROM ${table}
  WHERE ${w.sql}
  AND ${key} > ${d.param('afterKey')}
  ORDER BY ${key}
  LIMIT ${d.param('pageLimit')}
)
SELECT totals.total_images, totals.total_patients, ${cols.map((x) => `page.${x}`).join(', ')}
FROM totals LEFT JOIN page ON TRUE
ORDER BY page.${key}`;
  return { sql, params, columns: ['total_images', 'total_patients', ...cols] };
}

/** Age bins of the summary: 10-year bins [from, from + 9], from = 0, 10, ..., 120 (13 bins, always all). */
export const AGE_BINS: readonly { from: number; to: number }[] = Array.from({ length: 13 }, (_, i) => ({
  from: i * 10,
  to: i * 10 + 9,
}));

const count = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;

/** Summary column names, in order; the constants inside are the schema's own, never request values. */
export function summaryColumns(): string[] {
  return [
    'total_images',
    'total_patients',
    ...FINDINGS.map((_, i) => `finding_${i}`),
    'no_finding',
    ...SEXES.map((s) => `sex_${s}`),
    ...VIEWS.map((v) => `view_${v}`),
    ...SPLITS.map((s) => `split_${s}`),
    ...AGE_BINS.map((_, i) => `age_${i}`),
    ...readerSummaryColumns(),
  ];
}

export function compileSummary(f: CohortFilter, d: Dialect): CompiledSql {
  const w = compileWhere(f, d);
  const fm = c('findings_mask');
  const age = c('patient_age');
  const exprs = [
    'COUNT(*)',
    `COUNT(DISTINCT ${c('patient_id')})`,
    ...FINDINGS.map((_, i) => `SUM((${fm} >> ${i}) & 1)`),
    count(`${fm} = 0`),
    ...SEXES.map((s) => count(`${c('patient_sex')} = '${s}'`)),
    ...VIEWS.map((v) => count(`${c('view_position')} = '${v}'`)),
    ...SPLITS.map((s) => count(`${c('split')} = '${s}'`)),
    ...AGE_BINS.map((b) => count(`${age} BETWEEN ${b.from} AND ${b.to}`)),
  ];
  const columns = summaryColumns();
  // The reader counts (disputed / hedged per label) come from cohort_readers in a second one-row part.
  const sql = `WITH images AS (
SELECT\n  ${exprs.map((e, i) => `${e} AS ${columns[i]}`).join(',\n  ')}
FROM ${d.table(IMAGES_TABLE)}
WHERE ${w.sql}
), readers AS (
${readerSummarySql(w.sql, d)}
)
SELECT images.*, readers.* FROM images CROSS JOIN readers`;
  return { sql, params: w.params, columns };
}

/** Every matching image, ordered by image_id, for streaming. */
export function compileExport(f: CohortFilter, d: Dialect): CompiledSql {
  const w = compileWhere(f, d);
  const cols = EXPORT_COLUMNS.map(c);
  const sql = `SELECT ${cols.join(', ')}
FROM ${d.table(IMAGES_TABLE)}
WHERE ${w.sql}
ORDER BY ${c('image_key')}`;
  return { sql, params: w.params, columns: cols };
}
