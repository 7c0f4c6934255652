import type { ParsedFile } from '../parsers/types.ts';
import { RecordMerger } from './merger.ts';
import type { MergeOptions, MergeResult } from './types.ts';

/** Merges parsed files into complete image records, sorted by imageId (see RecordMerger). */
export function mergeRecords(files: ParsedFile[], opts: MergeOptions = {}): MergeResult {
  const merger = new RecordMerger(opts);
  for (const f of files) for (const row of f.rows) merger.add(row);
  return merger.finish();
}
