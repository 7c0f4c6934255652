import type { ParsedFile } from '../parsers/types.ts';
import type { MergeOptions, MergeResult } from './types.ts';

/** Merges parsed files into complete image records, sorted by imageId. */
export function mergeRecords(_files: ParsedFile[], _opts: MergeOptions = {}): MergeResult {
  throw new Error('not implemented');
}
