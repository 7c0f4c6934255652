/**
 * Reading one uploaded object: sniffs its content, then loads it as a label file (the label-file path) or
 * inspects it as an image (the image path). Input errors become a rejection; other errors throw. The label-file
 * path is work-labels.ts, imported when a label file arrives.
 */
import type { Readable } from 'node:stream';
import type { DicomIdentity } from '../model/index.ts';
import { type ByteTap, capped } from './bytes.ts';
import type { UploadContext } from './context.ts';
import { contentFault, isInputError, UploadRejection } from './errors.ts';
import type { StorageObject } from './event.ts';
import { type ImageInspection, inspectImage } from './images.ts';
import type { LabelLoadResult } from './label-load.ts';
import type { UploadStatus } from './report.ts';
import type { Sniffed } from './sniff.ts';
import { sniffContent } from './sniff.ts';

export interface Work {
  sniffed: Sniffed | undefined;
  labels: LabelLoadResult | undefined;
  image: ImageInspection | undefined;
  /** The DICOM identity of a DICOM upload (its UIDs checked as UI strings). */
  identity: DicomIdentity | undefined;
  rejection: UploadRejection | undefined;
}

/** The image path: inspects the content, and checks a DICOM upload's identity. */
async function inspect(w: Work, kind: Exclude<Sniffed['kind'], 'labels'>, content: AsyncIterable<Buffer>) {
  w.image = await inspectImage(kind, content);
  if (w.image.dicom) {
    // The DICOM path's modules (the model's schemas among them) load with the first DICOM upload.
    const { identityFromInfo } = await import('../dicom/identity.ts');
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
      // The label-file path (parsers, record schemas, the Firestore SDK) loads with the first label file, so
      // an image upload on a cold instance compiles none of it (issue 15).
      const { loadLabels } = await import('./work-labels.ts');
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
