/**
 * A dataset folder the dataset-building tests read twice: through the loader (records for the store and the
 * reference) and raw (the original metadata lines, the oracle of nih-csv). The real NIH files when
 * NIH_DATA_DIR is set, else the synthetic sample written to a temp folder (removed by cleanup()).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { nihDataDir } from '../helpers/env.ts';

export interface DatasetFixture {
  source: 'nih' | 'synthetic';
  dir: string;
  records: ImageRecord[];
  cleanup(): Promise<void>;
}

export async function datasetFixture(opts: { syntheticImages?: number } = {}): Promise<DatasetFixture> {
  const real = nihDataDir();
  if (real) {
    const records = (await loadDatasetDir(real)).records;
    return { source: 'nih', dir: real, records, cleanup: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'cohorts-dataset-'));
  await writeSyntheticDataset(dir, { images: opts.syntheticImages ?? 2000, seed: 19 });
  const records = (await loadDatasetDir(dir)).records;
  return { source: 'synthetic', dir, records, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The raw lines of a metadata file (header first), split on its own line ending; the last empty one dropped. */
export function rawMetadataLines(dir: string, version: 'v2020' | '2017'): { lines: string[]; eol: string } {
  const name = version === 'v2020' ? 'Data_Entry_2017_v2020.csv.gz' : 'Data_Entry_2017.csv.gz';
  const text = gunzipSync(readFileSync(join(dir, name))).toString('utf8');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  if (lines.at(-1) === '') lines.pop();
  return { lines, eol };
}
