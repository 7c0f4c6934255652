/**
 * The records the cohort tests run on: the real NIH files when NIH_DATA_DIR is set, else the project's
 * synthetic dataset (written to a temp folder in the real files' formats and parsed by the same loader).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { nihDataDir } from '../helpers/env.ts';

export interface TestDataset {
  source: 'nih' | 'synthetic';
  records: ImageRecord[];
}

export async function loadTestDataset(opts: { syntheticImages?: number } = {}): Promise<TestDataset> {
  const dir = nihDataDir();
  if (dir) return { source: 'nih', records: (await loadDatasetDir(dir)).records };
  const tmp = await mkdtemp(join(tmpdir(), 'cohorts-synthetic-'));
  try {
    await writeSyntheticDataset(tmp, { images: opts.syntheticImages ?? 2000, seed: 42 });
    return { source: 'synthetic', records: (await loadDatasetDir(tmp)).records };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
