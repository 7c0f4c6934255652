import { FINDINGS } from '../model/findings.ts';
import { IMAGE_COLUMNS, type ImageColumnName } from './columns.ts';
import { type CompiledSql, compileWhere, IMAGE_HEAD_COLUMNS } from './compile.ts';
import {
  type CohortOptions,
  canonicalStrata,
  FRACTION_UNIT,
  hasOptions,
  partWeights,
  type Stratum,
} from './dataset-options.ts';
import type { CohortFilter } from './filter.ts';
import { IMAGES_TABLE } from './schema.ts';
import { column as c, type Dialect, type SqlParam } from './sql-dialect.ts';

/**
 * onePerPatient, sample and split as SQL, for both dialects. The filtered rows go through a chain of CTEs
 * (`dataset_*`) whose last one stands in for the images table; every value is a parameter, and the only
 * literals are constants of this file. Keys are lower-case hex SHA-256 of `seed:imageId` (sample) or
 * `seed:patientId` (split): BigQuery's TO_HEX(SHA256(s)) and DuckDB's sha256(s) hash the same UTF-8 bytes and
 * hex strings order the same way on both engines, so both draw the same images. No database random function.
 */

interface Chain {
  ctes: string[];
  params: Record<string, SqlParam>;
  /** The CTE holding the cohort's rows (the carried columns, and part_index when split). */
  last: string;
}

const ALL_COLUMNS: readonly ImageColumnName[] = IMAGE_COLUMNS.map((x) => x.name);
/** What the chain itself reads: keys, the follow-up, and every attribute a stratum may use. */
const CHAIN_COLUMNS: readonly ImageColumnName[] = [
  'image_id',
  'image_key',
  'patient_id',
  'follow_up',
  'patient_sex',
  'view_position',
  'split',
  'patient_age',
  'findings_mask',
];

/** The stratum of a row: its attributes joined by `|` (`''` when not stratified). */
export function stratumSql(by: readonly Stratum[] | undefined, d: Dialect): string {
  const parts = canonicalStrata(by).map(
    (s) =>
      ({
        sex: c('patient_sex'),
        view: c('view_position'),
        split: c('split'),
        ageBand: `COALESCE(CAST(${d.intDiv(c('patient_age'), '10')} * 10 AS STRING), 'unknown')`,
        noFinding: `CASE WHEN ${c('findings_mask')} = 0 THEN 'noFinding' ELSE 'finding' END`,
      })[s],
  );
  if (parts.length === 0) return `''`;
  return parts.length === 1 ? parts[0]! : `CONCAT(${parts.join(`, '|', `)})`;
}

/** The filtered rows, then each option in turn, as CTEs carrying `cols`. */
export function cohortChain(
  f: CohortFilter,
  o: CohortOptions,
  d: Dialect,
  cols: readonly ImageColumnName[] = ALL_COLUMNS,
): Chain {
  const w = compileWhere(f, d);
  const params: Record<string, SqlParam> = { ...w.params };
  const carried = [...new Set<ImageColumnName>([...CHAIN_COLUMNS, ...cols])].map(c);
  const list = (alias?: string) => carried.map((x) => (alias ? `${alias}.${x}` : x)).join(', ');
  const ctes = [
    `dataset_matched AS (\n  SELECT ${list()}\n  FROM ${d.table(IMAGES_TABLE)}\n  WHERE ${w.sql}\n)`,
  ];
  let last = 'dataset_matched';
  if (o.onePerPatient) {
    const dir = o.onePerPatient === 'firstFollowUp' ? 'ASC' : 'DESC';
    ctes.push(
      `dataset_patient_rank AS (\n  SELECT ${list()}, ROW_NUMBER() OVER (PARTITION BY patient_id ORDER BY ${c('follow_up')} ${dir}, image_key ${dir}) AS patient_rank\n  FROM ${last}\n)`,
      `dataset_one_per_patient AS (SELECT ${list()} FROM dataset_patient_rank WHERE patient_rank = 1)`,
    );
    last = 'dataset_one_per_patient';
  }
  if (o.sample) {
    params.sampleSeed = { type: 'STRING', value: o.sample.seed };
    params.sampleSize = { type: 'INT64', value: o.sample.size };
    const key = d.sha256Hex(`CONCAT(${d.param('sampleSeed')}, ':', image_id)`);
    const base = d.intDiv('t.wanted * s.n', 't.total');
    ctes.push(
      `dataset_sample_keyed AS (\n  SELECT ${list()}, ${stratumSql(o.sample.stratifyBy, d)} AS stratum, ${key} AS sample_key\n  FROM ${last}\n)`,
      'dataset_sample_strata AS (SELECT stratum, COUNT(*) AS n FROM dataset_sample_keyed GROUP BY stratum)',
      `dataset_sample_total AS (\n  SELECT SUM(n) AS total, LEAST(${d.param('sampleSize')}, SUM(n)) AS wanted FROM dataset_sample_strata\n)`,
      // Largest remainder: each stratum gets floor(wanted * n / total), and the strata with the largest
      // remainders (ties: the smaller stratum key) one more, until `wanted` are given out. Integers only.
      `dataset_sample_base AS (\n  SELECT s.stratum, ${base} AS base, t.wanted * s.n - ${base} * t.total AS remainder, t.wanted\n  FROM dataset_sample_strata s CROSS JOIN dataset_sample_total t\n)`,
      'dataset_sample_quota AS (\n  SELECT stratum, base + CASE WHEN ROW_NUMBER() OVER (ORDER BY remainder DESC, stratum) <= wanted - SUM(base) OVER () THEN 1 ELSE 0 END AS quota\n  FROM dataset_sample_base\n)',
      `dataset_sample_ranked AS (\n  SELECT ${list('k')}, q.quota, ROW_NUMBER() OVER (PARTITION BY k.stratum ORDER BY k.sample_key, k.image_key) AS sample_rank\n  FROM dataset_sample_keyed k JOIN dataset_sample_quota q ON k.stratum = q.stratum\n)`,
      `dataset_sample AS (SELECT ${list()} FROM dataset_sample_ranked WHERE sample_rank <= quota)`,
    );
    last = 'dataset_sample';
  }
  if (o.split) {
    const split = o.split;
    params.splitSeed = { type: 'STRING', value: split.seed };
    const key = d.sha256Hex(`CONCAT(${d.param('splitSeed')}, ':', CAST(patient_id AS STRING))`);
    const weights = partWeights(split.parts);
    let cum = 0;
    const cuts = weights.slice(0, -1).map((wt, i) => {
      cum += wt;
      params[`splitCut${i}`] = { type: 'INT64', value: cum };
      const at = d.intDiv(
        `${d.param(`splitCut${i}`)} * patients + ${FRACTION_UNIT / 2}`,
        String(FRACTION_UNIT),
      );
      return `WHEN position < ${at} THEN ${i}`;
    });
    ctes.push(
      // A patient's stratum is that of its first image in the cohort (lowest follow-up).
      `dataset_split_first AS (\n  SELECT patient_id, ${stratumSql(split.stratifyBy, d)} AS stratum, ROW_NUMBER() OVER (PARTITION BY patient_id ORDER BY ${c('follow_up')}, image_key) AS first_rank\n  FROM ${last}\n)`,
      `dataset_split_keyed AS (SELECT patient_id, stratum, ${key} AS split_key FROM dataset_split_first WHERE first_rank = 1)`,
      'dataset_split_spread AS (\n  SELECT patient_id, stratum, split_key, ROW_NUMBER() OVER (PARTITION BY stratum ORDER BY split_key, patient_id) AS i, COUNT(*) OVER (PARTITION BY stratum) AS n\n  FROM dataset_split_keyed\n)',
      // Each stratum's patients spread evenly over [0, 1) at (2i - 1) / 2n, all strata merged in that order,
      // then cut at the cumulative fractions: part sizes within one patient, each stratum shared alike.
      'dataset_split_order AS (\n  SELECT patient_id, ROW_NUMBER() OVER (ORDER BY (2 * i - 1) / (2 * n), stratum, split_key, patient_id) - 1 AS position, COUNT(*) OVER () AS patients\n  FROM dataset_split_spread\n)',
      `dataset_split_parts AS (\n  SELECT patient_id, CASE ${cuts.join(' ')} ELSE ${weights.length - 1} END AS part_index\n  FROM dataset_split_order\n)`,
      `dataset_split AS (\n  SELECT ${list('x')}, p.part_index\n  FROM ${last} x JOIN dataset_split_parts p ON x.patient_id = p.patient_id\n)`,
    );
    last = 'dataset_split';
  }
  return { ctes, params, last };
}

/**
 * A statement of compile.ts (query page, summary) run on the cohort after onePerPatient and sample: its
 * images table becomes the chain's last CTE, which carries the columns it names. Its WHERE applies again there,
 * which changes nothing (every row of the chain already matches it).
 */
export function withCohortOptions(
  q: CompiledSql,
  f: CohortFilter,
  o: CohortOptions,
  d: Dialect,
): CompiledSql {
  if (!hasOptions(o)) return q;
  // The chain carries the columns the statement names (arrays it does not read stay behind).
  const used = ALL_COLUMNS.filter((n) => new RegExp(`\\b${n}\\b`).test(q.sql));
  const chain = cohortChain(f, { onePerPatient: o.onePerPatient, sample: o.sample }, d, used);
  const table = d.table(IMAGES_TABLE);
  const [head, ...rest] = q.sql.split(table);
  // The chain's own first CTE reads the table; every reference of the statement reads the chain.
  const body = [head, ...rest].join(chain.last);
  const sql = body.startsWith('WITH ')
    ? `WITH ${chain.ctes.join(',\n')},\n${body.slice('WITH '.length)}`
    : `WITH ${chain.ctes.join(',\n')}\n${body}`;
  return { sql, params: { ...chain.params, ...q.params }, columns: q.columns };
}

/** Columns of an export row: the NIH fields (nih-csv needs all of them) and both expert label sets. */
export const DATASET_EXPORT_COLUMNS = [
  ...IMAGE_HEAD_COLUMNS,
  'width',
  'height',
  'pixel_spacing_x',
  'pixel_spacing_y',
  'split',
  'findings',
  'findings_mask',
  'has_bounding_box',
  'ff_set',
  'ff_fracture',
  'ff_pneumothorax',
  'ff_airspace_opacity',
  'ff_nodule_or_mass',
  'af_abnormal',
  'af_other',
  'af_findings_mask',
  // The instance's UIDs: the export's optional dicomweb and viewer columns (issue 17).
  'dicom_study_instance_uid',
  'dicom_series_instance_uid',
  'dicom_sop_instance_uid',
] as const satisfies readonly ImageColumnName[];

/** Every image of the cohort after the options, ordered by image_id; with `part_index` when split. */
export function compileDatasetExport(f: CohortFilter, o: CohortOptions, d: Dialect): CompiledSql {
  const cols = DATASET_EXPORT_COLUMNS.map(c);
  if (!hasOptions(o)) {
    const w = compileWhere(f, d);
    const sql = `SELECT ${cols.join(', ')}\nFROM ${d.table(IMAGES_TABLE)}\nWHERE ${w.sql}\nORDER BY ${c('image_key')}`;
    return { sql, params: w.params, columns: cols };
  }
  const chain = cohortChain(f, o, d, DATASET_EXPORT_COLUMNS);
  const out = o.split ? [...cols, 'part_index'] : cols;
  const sql = `WITH ${chain.ctes.join(',\n')}\nSELECT ${out.join(', ')}\nFROM ${chain.last}\nORDER BY image_key`;
  return { sql, params: chain.params, columns: out };
}

/** Columns of the split statement: one row per part that holds any patient. */
export function splitColumns(): string[] {
  return ['part_index', 'images', 'patients', ...FINDINGS.map((_, i) => `finding_${i}`), 'no_finding'];
}

/** Per part: images, patients and images per NIH finding (and No Finding). */
export function compileSplit(f: CohortFilter, o: CohortOptions, d: Dialect): CompiledSql {
  if (!o.split) throw new Error('compileSplit needs a split');
  const chain = cohortChain(f, { onePerPatient: o.onePerPatient, split: o.split }, d, []);
  const fm = c('findings_mask');
  const exprs = [
    'part_index',
    'COUNT(*)',
    'COUNT(DISTINCT patient_id)',
    ...FINDINGS.map((_, i) => `SUM((${fm} >> ${i}) & 1)`),
    `SUM(CASE WHEN ${fm} = 0 THEN 1 ELSE 0 END)`,
  ];
  const columns = splitColumns();
  const sql = `WITH ${chain.ctes.join(',\n')}
SELECT ${exprs.map((e, i) => `${e} AS ${columns[i]}`).join(', ')}
FROM ${chain.last}
GROUP BY part_index
ORDER BY part_index`;
  return { sql, params: chain.params, columns };
}
