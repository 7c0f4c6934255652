import {
  BIGINT,
  BOOLEAN,
  type DuckDBConnection,
  DuckDBDataChunkWriter,
  DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
  JSDuckDBValueConverter,
  JSToDuckDBValueConverter,
  jsToDuckDBValue,
  LIST,
  VARCHAR,
} from '@duckdb/node-api';
import { compileAgreement, decodeAgreement } from './agreement.ts';
import { IMAGE_COLUMNS, READER_COLUMNS } from './columns.ts';
import { type CompiledSql, compileQuery, compileSummary } from './compile.ts';
import { compileDatasetExport, compileSplit, withCohortOptions } from './compile-cohort.ts';
import type { PageTokens } from './page-token.ts';
import { type CohortExportRow, decodeExportRow, decodeSummary, type PlainRow } from './results.ts';
import type { CohortRows } from './rows.ts';
import { type CohortTableId, duckDbDdl, IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import { decodeSplit } from './split-result.ts';
import { duckDbDialect, type ParamType, type SqlParam } from './sql-dialect.ts';
import { type CohortStore, type LoadCounts, pageStart, toPage } from './store.ts';

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

/** A batch must name each image once: which of two rows should win is not for the store to guess. */
async function assertUnique(c: DuckDBConnection, table: string): Promise<void> {
  const r = await c.runAndReadAll(`SELECT COUNT(*) - COUNT(DISTINCT image_id) FROM ${table}`);
  const dup = Number(r.getRowsJS()[0]?.[0] ?? 0);
  if (dup > 0) throw new Error(`${dup} image ids appear more than once in one load; each image once please`);
}

const IMAGE_NAMES = IMAGE_COLUMNS.map((c) => c.name);
const READER_NAMES = READER_COLUMNS.map((c) => c.name);

export interface DuckDbStoreOptions {
  tokens: PageTokens;
  /** Database file; default ':memory:'. */
  path?: string;
  /** DuckDB threads; default DuckDB's (all cores). */
  threads?: number;
}

/** The embedded cohort store: DuckDB in-process, bulk loads through the appender API. */
export async function createDuckDbCohortStore(opts: DuckDbStoreOptions): Promise<CohortStore> {
  const instance = await DuckDBInstance.create(
    opts.path ?? ':memory:',
    opts.threads ? { threads: String(opts.threads) } : {},
  );
  const dialect = duckDbDialect();
  const idle: DuckDBConnection[] = [];
  const acquire = async () => idle.pop() ?? (await instance.connect());
  const release = (c: DuckDBConnection) => {
    if (idle.length < 8) idle.push(c);
    else c.closeSync();
  };
  const withConnection = async <T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    const c = await acquire();
    try {
      return await fn(c);
    } finally {
      release(c);
    }
  };
  const rowsOf = (q: CompiledSql) =>
    withConnection(async (c) => {
      const { values, types } = duckDbParams(q.params);
      const reader = await c.runAndReadAll(q.sql, values, types);
      return reader.getRowObjectsJS() as PlainRow[];
    });

  await withConnection(async (c) => {
    for (const t of [IMAGES_TABLE, READERS_TABLE] as const) {
      await c.run(duckDbDdl(t).replace('CREATE OR REPLACE TABLE', 'CREATE TABLE IF NOT EXISTS'));
    }
  });

  /** Appends rows to staging tables through the appender (chunked, not row-by-row INSERTs). */
  const stage = async (
    c: DuckDBConnection,
    rows: Iterable<CohortRows> | AsyncIterable<CohortRows>,
    names: Record<CohortTableId, string>,
  ): Promise<LoadCounts> => {
    await c.run(duckDbDdl(IMAGES_TABLE, names[IMAGES_TABLE], { temp: true }));
    await c.run(duckDbDdl(READERS_TABLE, names[READERS_TABLE], { temp: true }));
    const ia = await c.createAppender(names[IMAGES_TABLE]);
    const ra = await c.createAppender(names[READERS_TABLE]);
    const iw = DuckDBDataChunkWriter.forAppender(ia, { converter: JSToDuckDBValueConverter });
    const rw = DuckDBDataChunkWriter.forAppender(ra, { converter: JSToDuckDBValueConverter });
    const counts = { images: 0, readers: 0 };
    try {
      for await (const r of rows) {
        iw.appendRow(IMAGE_NAMES.map((n) => r.image[n as keyof typeof r.image]));
        counts.images++;
        for (const rr of r.readers) {
          rw.appendRow(READER_NAMES.map((n) => rr[n as keyof typeof rr]));
          counts.readers++;
        }
      }
      iw.flush();
      rw.flush();
    } finally {
      ia.closeSync();
      ra.closeSync();
    }
    return counts;
  };

  return {
    kind: 'duckdb',
    async query(filter, pageSize, pageToken, options = {}) {
      const after = pageStart(filter, opts.tokens, pageToken, options);
      const q = compileQuery(filter, { after, limit: pageSize + 1 }, dialect);
      const rows = await rowsOf(withCohortOptions(q, filter, options, dialect));
      return toPage(rows, filter, pageSize, opts.tokens, options);
    },
    async summary(filter, options = {}) {
      const [row] = await rowsOf(
        withCohortOptions(compileSummary(filter, dialect), filter, options, dialect),
      );
      return decodeSummary(row ?? {});
    },
    async split(filter, options) {
      return decodeSplit(await rowsOf(compileSplit(filter, options, dialect)), options.split);
    },
    async agreement(q) {
      return decodeAgreement(q, await rowsOf(compileAgreement(q, dialect)));
    },
    export(filter, options = {}): AsyncIterable<CohortExportRow> {
      const q = compileDatasetExport(filter, options, dialect);
      const partNames = options.split ? Object.keys(options.split.parts) : undefined;
      return {
        async *[Symbol.asyncIterator]() {
          const c = await acquire();
          try {
            const { values, types } = duckDbParams(q.params);
            const result = await c.stream(q.sql, values, types);
            const names = result.columnNames();
            for (;;) {
              const chunk = await result.fetchChunk();
              if (!chunk || chunk.rowCount === 0) break;
              for (const row of chunk.convertRows(JSDuckDBValueConverter)) {
                const o: PlainRow = {};
                names.forEach((n, i) => {
                  o[n] = row[i];
                });
                yield decodeExportRow(o, partNames);
              }
            }
          } finally {
            // A stream abandoned half-way leaves a pending result on the connection: do not reuse it.
            c.closeSync();
          }
        },
      };
    },
    async load(rows) {
      return withConnection(async (c) => {
        const names = { [IMAGES_TABLE]: 'load_images', [READERS_TABLE]: 'load_readers' } as const;
        const counts = await stage(c, rows, names);
        await assertUnique(c, 'load_images');
        await c.run('BEGIN TRANSACTION');
        try {
          await c.run(`DELETE FROM "${IMAGES_TABLE}"`);
          await c.run(`INSERT INTO "${IMAGES_TABLE}" SELECT * FROM load_images ORDER BY image_key`);
          await c.run(`DELETE FROM "${READERS_TABLE}"`);
          await c.run(
            `INSERT INTO "${READERS_TABLE}" SELECT * FROM load_readers ORDER BY image_id, study, reader_id, label`,
          );
          await c.run('COMMIT');
        } catch (err) {
          await c.run('ROLLBACK');
          throw err;
        } finally {
          await c.run('DROP TABLE IF EXISTS load_images; DROP TABLE IF EXISTS load_readers');
        }
        return counts;
      });
    },
    async upsert(rows) {
      return withConnection(async (c) => {
        const names = { [IMAGES_TABLE]: 'upsert_images', [READERS_TABLE]: 'upsert_readers' } as const;
        const counts = await stage(c, rows, names);
        await assertUnique(c, 'upsert_images');
        await c.run('BEGIN TRANSACTION');
        try {
          await c.run(`DELETE FROM "${IMAGES_TABLE}" WHERE image_id IN (SELECT image_id FROM upsert_images)`);
          await c.run(`INSERT INTO "${IMAGES_TABLE}" SELECT * FROM upsert_images`);
          await c.run(
            `DELETE FROM "${READERS_TABLE}" WHERE image_id IN (SELECT image_id FROM upsert_images)`,
          );
          await c.run(`INSERT INTO "${READERS_TABLE}" SELECT * FROM upsert_readers`);
          await c.run('COMMIT');
        } catch (err) {
          await c.run('ROLLBACK');
          throw err;
        } finally {
          await c.run('DROP TABLE IF EXISTS upsert_images; DROP TABLE IF EXISTS upsert_readers');
        }
        return counts;
      });
    },
    async stats() {
      return withConnection(async (c) => {
        const r = await c.runAndReadAll(
          `SELECT (SELECT COUNT(*) FROM "${IMAGES_TABLE}") AS images, (SELECT COUNT(*) FROM "${READERS_TABLE}") AS readers`,
        );
        const [row] = r.getRowsJS();
        return { images: Number(row?.[0] ?? 0), readers: Number(row?.[1] ?? 0) };
      });
    },
    async close() {
      for (const c of idle.splice(0)) c.closeSync();
      instance.closeSync();
    },
  };
}
