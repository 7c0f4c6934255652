import { IMAGE_COLUMNS, type ImageColumnName } from './columns.ts';

export type DialectName = 'bigquery' | 'duckdb';
export type ParamType = 'STRING' | 'INT64' | 'BOOL' | 'ARRAY<STRING>' | 'ARRAY<INT64>';
export type ParamValue = string | number | boolean | string[] | number[];
export interface SqlParam {
  type: ParamType;
  value: ParamValue;
}

/** The few places where GoogleSQL and DuckDB differ; everything else the compiler emits is common SQL. */
export interface Dialect {
  readonly name: DialectName;
  /** A named parameter reference: `@name` (BigQuery) or `$name` (DuckDB). */
  param(name: string): string;
  /** `expr` is one of the elements of the array parameter. */
  inArray(expr: string, param: string): string;
  /** The quoted table reference. */
  table(id: string): string;
  /** Lower-case hex SHA-256 of a STRING expression's UTF-8 bytes (64 characters, identical in both). */
  sha256Hex(expr: string): string;
  /** Integer division of two INT64 expressions, rounding toward zero. */
  intDiv(a: string, b: string): string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const PARAM = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const COLUMN_NAMES: ReadonlySet<string> = new Set(IMAGE_COLUMNS.map((c) => c.name));

/** Throws unless `s` is a plain identifier; identifiers never come from requests, this guards config. */
export function assertIdentifier(s: string, what: string): string {
  if (!IDENT.test(s)) throw new Error(`${what} ${JSON.stringify(s)} is not a plain SQL identifier`);
  return s;
}

function paramName(name: string): string {
  if (!PARAM.test(name)) throw new Error(`parameter name ${JSON.stringify(name)} is not allowed`);
  return name;
}

/** A column of cohort_images, checked against the declared schema (the identifier allow-list). */
export function column(name: ImageColumnName): string {
  if (!COLUMN_NAMES.has(name)) throw new Error(`column ${name} is not in the cohort schema`);
  return name;
}

export function bigQueryDialect(opts: { project?: string | undefined; dataset: string }): Dialect {
  if (opts.project !== undefined && !PROJECT.test(opts.project)) {
    throw new Error(`BigQuery project ${JSON.stringify(opts.project)} is not a valid project id`);
  }
  const prefix = `${opts.project ? `\`${opts.project}\`.` : ''}\`${assertIdentifier(opts.dataset, 'dataset')}\``;
  return {
    name: 'bigquery',
    param: (n) => `@${paramName(n)}`,
    inArray: (expr, p) => `${expr} IN UNNEST(@${paramName(p)})`,
    table: (id) => `${prefix}.\`${assertIdentifier(id, 'table')}\``,
    sha256Hex: (e) => `TO_HEX(SHA256(${e}))`,
    intDiv: (a, b) => `DIV(${a}, ${b})`,
  };
}

export function duckDbDialect(): Dialect {
  return {
    name: 'duckdb',
    param: (n) => `$${paramName(n)}`,
    inArray: (expr, p) => `list_contains($${paramName(p)}, ${expr})`,
    table: (id) => `"${assertIdentifier(id, 'table')}"`,
    sha256Hex: (e) => `sha256(${e})`,
    intDiv: (a, b) => `((${a}) // (${b}))`,
  };
}
