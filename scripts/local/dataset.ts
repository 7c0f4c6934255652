import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';

export interface LocalDataset {
  kind: 'nih' | 'synthetic';
  records: ImageRecord[];
  rejectedRows: number;
}

/**
 * The real NIH files when a folder is given; otherwise a small SYNTHETIC sample written in the same file
 * formats and read through the same parsers, so every code path runs either way.
 */
export async function loadLocalDataset(opts: {
  dataDir: string | undefined;
  metadata: 'v2020' | '2017';
  syntheticImages: number;
}): Promise<LocalDataset> {
  if (opts.dataDir) {
    const r = await loadDatasetDir(opts.dataDir, { metadata: opts.metadata });
    return {
      kind: 'nih',
      records: r.records,
      rejectedRows: r.files.reduce((n, f) => n + f.rejected.length, 0),
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'nih-cxr-synthetic-'));
  try {
    await writeSyntheticDataset(dir, { images: opts.syntheticImages, seed: 1 });
    const r = await loadDatasetDir(dir, { metadata: opts.metadata });
    return {
      kind: 'synthetic',
      records: r.records,
      rejectedRows: r.files.reduce((n, f) => n + f.rejected.length, 0),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
