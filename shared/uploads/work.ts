/**
 * Reading one uploaded object: sniffs its content, then loads it as a label file (the label-file path) or
 * inspects it as an image (the image path). Input errors become a rejection; other errors throw.
 */
import type { Readable } from 'node:stream';
import { splitFromFileName } from '../dataset/load-dir.ts';
import { identityFromInfo } from '../dicom/identity.ts';
import type { DicomIdentity, Split } from '../model/index.ts';
import { type ByteTap, capped } from './bytes.ts';
import type { UploadContext } from './context.ts';
import { contentFault, isInputError, UploadRejection } from './errors.ts';
import type { StorageObject } from './event.ts';
import { type ImageInspection, inspectImage } from './images.ts';
import { type LabelLoadResult, loadLabelFile } from './label-load.ts';
import type { UploadStatus } from './report.ts';
import type { Sniffed } from './sniff.ts';
import { sniffContent } from './sniff.ts';
import { createSplitTable } from './splits.ts';

export interface Work {
  sniffed: Sniffed | undefined;
  labels: LabelLoadResult | undefined;
  image: ImageInspection | undefined;
  /** The DICOM identity of a DICOM upload (its UIDs checked as UI strings). */
  identity: DicomIdentity | undefined;
  rejection: UploadRejection | undefined;
}

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
async function loadLabels(
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
      labels: ctx.labels,
      cohorts,
      splits: deps.splits ?? createSplitTable(() => db),
      throttle: deps.throttle,
      signal,
      ...(deps.labelsCollection ? { collection: deps.labelsCollection } : {}),
    },
  );
}

/** The image path: inspects the content, and checks a DICOM upload's identity. */
async function inspect(w: Work, kind: Exclude<Sniffed['kind'], 'labels'>, content: AsyncIterable<Buffer>) {
  w.image = await inspectImage(kind, content);
  if (w.image.dicom) {
    const id = identityFromInfo(w.image.dicom);
    if ('reason' in id) throw new UploadRejection(`invalid DICOM: ${id.reason}`);
    w.identity = id;
  }
}

/**
 * Reads object `o` (its bytes from `raw`, through `tap`) and does what its content calls for, until `signal`
 * aborts. `raw` is destroyed when done, however it ends.
 */
export async function work(
  ctx: UploadContext,
  o: StorageObject,
  raw: Readable,
  tap: ByteTap,
  signal: AbortSignal,
): Promise<Work> {
  const w: Work = {
    sniffed: undefined,
    labels: undefined,
    image: undefined,
    identity: undefined,
    rejection: undefined,
  };
  // Until the label loader takes over, every error but a transport fault is the content's doing.
  let reading = true;
  try {
    const { sniffed, content: whole } = await sniffContent(tap.wrap(raw));
    w.sniffed = sniffed;
    const what = sniffed.gzip ? 'the decompressed content' : 'the object';
    const content =
      sniffed.kind === 'labels' || sniffed.gzip ? capped(whole, ctx.limits.maxContentBytes, what) : whole;
    if (sniffed.kind === 'labels') {
      const loading = () => {
        reading = false;
      };
      w.labels = await loadLabels(ctx, o, sniffed, content, loading, signal);
    } else {
      await inspect(w, sniffed.kind, content);
    }
  } catch (caught) {
    const err = reading ? contentFault(caught) : caught;
    if (!isInputError(err)) throw err;
    w.rejection =
      err instanceof UploadRejection ? err : new UploadRejection(err.message, undefined, { cause: err });
  } finally {
    raw.destroy();
  }
  return w;
}

export function statusOf(w: Work): UploadStatus {
  if (w.rejection) return 'rejected';
  if (w.image) return 'registered';
  // A label file none of whose rows could be loaded is rejected as a whole.
  if (w.labels && w.labels.rows.loaded === 0 && w.labels.rows.rejected > 0) return 'rejected';
  return 'loaded';
}
