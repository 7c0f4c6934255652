import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import { progressReporter } from '../../shared/labels/progress.ts';
import { lazy } from '../../shared/lazy.ts';
import type { Logger } from '../../shared/log.ts';
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

export interface LocalData {
  /** The records, read once (on first call) and shared by every store. */
  records: () => Promise<readonly ImageRecord[]>;
  /** Reads the data set, fills the cohort store (by opening it) and Firestore, then marks the server ready. */
  load(cohortStore: () => Promise<unknown>): Promise<void>;
  ready(): boolean;
  health(): { dataset?: LocalDataset['kind']; images: number };
}

/** The local data set and its loading into the stores, with what healthz reports about it. */
export function loadLocalData(
  config: { dataDir: string | undefined; metadata: 'v2020' | '2017'; syntheticImages: number },
  o: { firestore: Firestore; collection: string; log: Logger },
): LocalData {
  let loaded: { kind: LocalDataset['kind']; images: number } | undefined;
  const dataset = lazy(async () => {
    const data = await loadLocalDataset(config);
    if (data.kind === 'synthetic')
      o.log.warn('No NIH_DATA_DIR: serving a small SYNTHETIC sample, not real NIH data', {
        images: data.records.length,
      });
    return data;
  });
  const records = async () => (await dataset()).records;
  return {
    records,
    ready: () => loaded !== undefined,
    health: () => (loaded ? { dataset: loaded.kind, images: loaded.images } : { images: 0 }),
    async load(cohortStore) {
      const data = await dataset();
      await cohortStore();
      const progress = progressReporter(process.stderr);
      const summary = await loadRecords(o.firestore, data.records, {
        collection: o.collection,
        throttle: false,
        skipUnchanged: true,
        onProgress: (p) => progress.update(p),
      });
      progress.done(summary);
      o.log.info('Firestore loaded', { written: summary.written, skipped: summary.skipped });
      loaded = { kind: data.kind, images: data.records.length };
    },
  };
}
