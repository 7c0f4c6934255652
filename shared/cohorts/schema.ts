import { type Column, IMAGE_COLUMNS, READER_COLUMNS } from './columns.ts';

export const IMAGES_TABLE = 'cohort_images';
export const READERS_TABLE = 'cohort_readers';
export type CohortTableId = typeof IMAGES_TABLE | typeof READERS_TABLE;

export interface CohortTable {
  id: CohortTableId;
  description: string;
  columns: readonly Column[];
}

/** Every cohort table, in load order. Terraform creates these (ids as here) in BQ_DATASET. */
export const COHORT_TABLES: readonly CohortTable[] = [
  {
    id: IMAGES_TABLE,
    description:
      'NIH ChestX-ray14: one row per image (metadata, findings, split, boxes, adjudicated expert labels). Source: NIH Clinical Center; expert labels: Google Health.',
    columns: IMAGE_COLUMNS,
  },
  {
    id: READERS_TABLE,
    description:
      "NIH ChestX-ray14: one row per (image, study, reader, label) with the individual expert readers' labels (Google Health).",
    columns: READER_COLUMNS,
  },
];

/** BigQuery REST TableFieldSchema. */
export interface BigQueryField {
  name: string;
  type: Column['type'];
  mode: Column['mode'];
  description: string;
}

export function cohortTable(id: CohortTableId): CohortTable {
  const t = COHORT_TABLES.find((x) => x.id === id);
  if (!t) throw new Error(`unknown cohort table ${id}`);
  return t;
}

/** The BigQuery REST table schema (`{fields: TableFieldSchema[]}`) of a cohort table. */
export function bigQueryTableSchema(table: CohortTableId = IMAGES_TABLE): { fields: BigQueryField[] } {
  return {
    fields: cohortTable(table).columns.map((c) => ({
      name: c.name,
      type: c.type,
      mode: c.mode,
      description: c.description,
    })),
  };
}

const DUCKDB_TYPES: Record<Column['type'], string> = {
  STRING: 'VARCHAR',
  INTEGER: 'BIGINT',
  FLOAT: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
};

/** The DuckDB type of a column, e.g. `VARCHAR[]` for a repeated string. */
export function duckDbType(c: Column): string {
  return c.mode === 'REPEATED' ? `${DUCKDB_TYPES[c.type]}[]` : DUCKDB_TYPES[c.type];
}

/** `CREATE TABLE` for a cohort table in DuckDB; `name` overrides the table name (staging tables). */
export function duckDbDdl(table: CohortTableId, name: string = table, opts: { temp?: boolean } = {}): string {
  const cols = cohortTable(table).columns.map(
    (c) => `"${c.name}" ${duckDbType(c)}${c.mode === 'NULLABLE' ? '' : ' NOT NULL'}`,
  );
  return `CREATE OR REPLACE ${opts.temp ? 'TEMP ' : ''}TABLE "${name}" (\n  ${cols.join(',\n  ')}\n)`;
}
