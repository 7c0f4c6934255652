import { IMAGE_COLUMNS, READER_COLUMNS } from './columns.ts';
import { IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import { assertIdentifier, type Dialect } from './sql-dialect.ts';

/**
 * The statements that fold staged rows into the cohort tables (BigQuery upsert): image rows are merged by
 * image_id, and each staged image's reader rows are replaced. Identifiers come from the declared schema and
 * from staging table names the store generated; there are no values at all.
 */
export function upsertStatements(
  d: Dialect,
  staging: { images: string; readers: string | null },
  /** The dialect of the staging tables' dataset (BQ_STAGING_DATASET), when it is not the cohort tables' one. */
  sd: Dialect = d,
): string[] {
  const images = d.table(IMAGES_TABLE);
  const readers = d.table(READERS_TABLE);
  const stImages = sd.table(assertIdentifier(staging.images, 'staging table'));
  const names = IMAGE_COLUMNS.map((c) => c.name);
  const merge = `MERGE ${images} AS T
USING ${stImages} AS S
ON T.image_id = S.image_id
WHEN MATCHED THEN UPDATE SET ${names
    .filter((n) => n !== 'image_id')
    .map((n) => `${n} = S.${n}`)
    .join(', ')}
WHEN NOT MATCHED THEN INSERT (${names.join(', ')}) VALUES (${names.map((n) => `S.${n}`).join(', ')})`;
  const del = `DELETE FROM ${readers} WHERE image_id IN (SELECT image_id FROM ${stImages})`;
  const out = [merge, del];
  if (staging.readers) {
    const rnames = READER_COLUMNS.map((c) => c.name).join(', ');
    const stReaders = sd.table(assertIdentifier(staging.readers, 'staging table'));
    out.push(`INSERT INTO ${readers} (${rnames}) SELECT ${rnames} FROM ${stReaders}`);
  }
  return out;
}

/** The statements above as one atomic BigQuery script. */
export function upsertScript(
  d: Dialect,
  staging: { images: string; readers: string | null },
  sd: Dialect = d,
): string {
  return `BEGIN TRANSACTION;\n${upsertStatements(d, staging, sd).join(';\n')};\nCOMMIT TRANSACTION;`;
}

/** Empties the readers table when a bulk load brings no reader rows (a load job needs some data). */
export function truncateReaders(d: Dialect): string {
  return `TRUNCATE TABLE ${d.table(READERS_TABLE)}`;
}

/** Row counts of both tables (BigQuery answers COUNT(*) from metadata: 0 bytes billed). */
export function countRowsSql(d: Dialect): string {
  return `SELECT (SELECT COUNT(*) FROM ${d.table(IMAGES_TABLE)}) AS images, (SELECT COUNT(*) FROM ${d.table(READERS_TABLE)}) AS readers`;
}
