/**
 * The label-file path of an upload (work.ts imports it when the content is a label file): the split of an
 * image list, then the load into Firestore and the cohort store. A module of its own so that an image upload
 * never loads the parsers, the record schemas or the label writer.
 */
import { splitFromFileName } from '../dataset/load-dir.ts';
import type { Split } from '../model/index.ts';
import type { UploadContext } from './context.ts';
import { UploadRejection } from './errors.ts';
import type { StorageObject } from './event.ts';
import { type LabelLoadResult, loadLabelFile } from './label-load.ts';
import type { Sniffed } from './sniff.ts';
import { createSplitTable } from './splits.ts';

/** An image list's split: object metadata `split`, else its file name as the bulk loader reads it. */
function listSplit(o: StorageObject): Split {
  const m = o.metadata?.split;
  if (m === 'train_val' || m === 'test') return m;
  const s = splitFromFileName(o.name);
  if (s) return s;
  throw new UploadRejection(
    'an image list needs its split: name it train_val_list*.txt or test_list*.txt, or set object metadata split=train_val|test',
  );
}

/**
 * The label-file path: loads the (capped) content into Firestore and the cohort store. `loading` is called
 * once the split is known, when errors stop being the content's doing.
 */
export async function loadLabels(
  ctx: UploadContext,
  o: StorageObject,
  sniffed: Sniffed & { kind: 'labels' },
  content: AsyncIterable<Buffer>,
  loading: () => void,
  signal: AbortSignal,
): Promise<LabelLoadResult> {
  const { deps } = ctx;
  const split = sniffed.fileKind === 'image_list' ? listSplit(o) : undefined;
  loading();
  const cohorts = await deps.cohorts();
  // The Firestore SDK (BulkWriter), loaded on the first label file.
  const db = await deps.firestore();
  return loadLabelFile(
    content,
    { split, maxRows: ctx.limits.maxRows },
    {
      firestore: () => db,
      labels: await ctx.labels(),
      cohorts,
      splits: deps.splits ?? createSplitTable(() => db),
      throttle: deps.throttle,
      signal,
      ...(deps.labelsCollection ? { collection: deps.labelsCollection } : {}),
    },
  );
}
