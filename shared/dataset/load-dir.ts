import type { DatasetLoadResult, MergeOptions } from './types.ts';

/**
 * Parses every known file under dir (recursively; .csv, .csv.gz, .txt) and merges them. The split of an
 * image list comes from its file name (test_list.txt -> test, anything else -> train_val).
 */
export async function loadDatasetDir(_dir: string, _opts: MergeOptions = {}): Promise<DatasetLoadResult> {
  throw new Error('not implemented');
}
