/** Running compiled statements on DuckDB (local-only, like the store): parameters in, plain rows out. */
import {
  BIGINT,
  BOOLEAN,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  JSDuckDBValueConverter,
  jsToDuckDBValue,
  LIST,
  VARCHAR,
} from '@duckdb/node-api';
import type { CompiledSql } from './compile.ts';
import type { PlainRow } from './results.ts';
import type { ParamType, SqlParam } from './sql-dialect.ts';

const PARAM_TYPES: Record<ParamType, DuckDBType> = {
  STRING: VARCHAR,
  INT64: BIGINT,
  BOOL: BOOLEAN,
  'ARRAY<STRING>': LIST(VARCHAR),
  'ARRAY<INT64>': LIST(BIGINT),
};

/** DuckDB values and types for a compiled statement's named parameters. */
export function duckDbParams(params: Record<string, SqlParam>): {
  values: Record<string, DuckDBValue>;
  types: Record<string, DuckDBType>;
} {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const [name, p] of Object.entries(params)) {
    const type = PARAM_TYPES[p.type];
    values[name] = jsToDuckDBValue(p.value as never, type);
    types[name] = type;
  }
  return { values, types };
}

/** Every row of a compiled statement, read at once. */
export async function readRows(c: DuckDBConnection, q: CompiledSql): Promise<PlainRow[]> {
  const { values, types } = duckDbParams(q.params);
  const reader = await c.runAndReadAll(q.sql, values, types);
  return reader.getRowObjectsJS() as PlainRow[];
}

/**
 * The rows of a compiled statement, one DuckDB chunk at a time, each fetched when the caller asks for it:
 * a whole chunk per step keeps a long export from paying an await per row.
 */
export async function* streamChunks(c: DuckDBConnection, q: CompiledSql): AsyncGenerator<PlainRow[]> {
  const { values, types } = duckDbParams(q.params);
  const result = await c.stream(q.sql, values, types);
  const names = result.columnNames();
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    yield chunk.convertRows(JSDuckDBValueConverter).map((row) => {
      const o: PlainRow = {};
      names.forEach((n, i) => {
        o[n] = row[i];
      });
      return o;
    });
  }
}
