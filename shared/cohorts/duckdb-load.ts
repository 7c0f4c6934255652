/**
 * Writing the DuckDB store's tables (local-only, like the store): rows are appended to temporary staging
 * tables through the appender API (chunked, not row-by-row INSERTs), then moved in one transaction.
 */
import { type DuckDBConnection, DuckDBDataChunkWriter, JSToDuckDBValueConverter } from '@duckdb/node-api';
import { IMAGE_COLUMNS, READER_COLUMNS } from './columns.ts';
import type { CohortRows } from './rows.ts';
import { duckDbDdl, IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import type { LoadCounts } from './store.ts';

type Rows = Iterable<CohortRows> | AsyncIterable<CohortRows>;

/** Names of the two staging tables of one write. */
interface Staging {
  images: string;
  readers: string;
}

const IMAGE_NAMES = IMAGE_COLUMNS.map((c) => c.name);
const READER_NAMES = READER_COLUMNS.map((c) => c.name);

/** Creates both tables where the database does not have them yet (a database file keeps its rows). */
export async function createTablesIfMissing(c: DuckDBConnection): Promise<void> {
  for (const t of [IMAGES_TABLE, READERS_TABLE] as const) {
    await c.run(duckDbDdl(t).replace('CREATE OR REPLACE TABLE', 'CREATE TABLE IF NOT EXISTS'));
  }
}

/** Row counts of both tables. */
export async function countRows(c: DuckDBConnection): Promise<LoadCounts> {
  const r = await c.runAndReadAll(
    `SELECT (SELECT COUNT(*) FROM "${IMAGES_TABLE}") AS images, (SELECT COUNT(*) FROM "${READERS_TABLE}") AS readers`,
  );
  const [row] = r.getRowsJS();
  return { images: Number(row?.[0] ?? 0), readers: Number(row?.[1] ?? 0) };
}

/** Replaces the whole content of both tables with these rows, stored in key order. */
export function replaceRows(c: DuckDBConnection, rows: Rows): Promise<LoadCounts> {
  const s: Staging = { images: 'load_images', readers: 'load_readers' };
  return writeStaged(c, rows, s, [
    `DELETE FROM "${IMAGES_TABLE}"`,
    `INSERT INTO "${IMAGES_TABLE}" SELECT * FROM ${s.images} ORDER BY image_key`,
    `DELETE FROM "${READERS_TABLE}"`,
    `INSERT INTO "${READERS_TABLE}" SELECT * FROM ${s.readers} ORDER BY image_id, study, reader_id, label`,
  ]);
}

/** Inserts or replaces by image_id: the image row and all of that image's reader rows. */
export function upsertRows(c: DuckDBConnection, rows: Rows): Promise<LoadCounts> {
  const s: Staging = { images: 'upsert_images', readers: 'upsert_readers' };
  return writeStaged(c, rows, s, [
    `DELETE FROM "${IMAGES_TABLE}" WHERE image_id IN (SELECT image_id FROM ${s.images})`,
    `INSERT INTO "${IMAGES_TABLE}" SELECT * FROM ${s.images}`,
    `DELETE FROM "${READERS_TABLE}" WHERE image_id IN (SELECT image_id FROM ${s.images})`,
    `INSERT INTO "${READERS_TABLE}" SELECT * FROM ${s.readers}`,
  ]);
}

/**
 * Stages the rows, refuses a batch naming an image twice, and runs `statements` in one transaction (rolled
 * back when one fails); the staging tables are dropped once the transaction has ended either way.
 */
async function writeStaged(
  c: DuckDBConnection,
  rows: Rows,
  s: Staging,
  statements: readonly string[],
): Promise<LoadCounts> {
  const counts = await stage(c, rows, s);
  await assertUnique(c, s.images);
  await c.run('BEGIN TRANSACTION');
  try {
    for (const sql of statements) await c.run(sql);
    await c.run('COMMIT');
  } catch (err) {
    await c.run('ROLLBACK');
    throw err;
  } finally {
    await c.run(`DROP TABLE IF EXISTS ${s.images}; DROP TABLE IF EXISTS ${s.readers}`);
  }
  return counts;
}

/** Appends rows to (re)created temporary staging tables through the appender. */
async function stage(c: DuckDBConnection, rows: Rows, s: Staging): Promise<LoadCounts> {
  await c.run(duckDbDdl(IMAGES_TABLE, s.images, { temp: true }));
  await c.run(duckDbDdl(READERS_TABLE, s.readers, { temp: true }));
  const ia = await c.createAppender(s.images);
  const ra = await c.createAppender(s.readers);
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
}

/** A batch must name each image once: which of two rows should win is not for the store to guess. */
async function assertUnique(c: DuckDBConnection, table: string): Promise<void> {
  const r = await c.runAndReadAll(`SELECT COUNT(*) - COUNT(DISTINCT image_id) FROM ${table}`);
  const dup = Number(r.getRowsJS()[0]?.[0] ?? 0);
  if (dup > 0) throw new Error(`${dup} image ids appear more than once in one load; each image once please`);
}
