/**
 * Records DICOM identities on the image documents (Firestore) and, when the cohort store is given, on the
 * cohort rows, then bumps the labels version stamp so that every labels instance sees them. Used by the
 * upload processor (one image) and `npm run load:dicom` (pages of images). Never creates an image.
 */
import type { Firestore } from '@google-cloud/firestore';
import { toCohortRows } from '../cohorts/rows.ts';
import type { CohortStore } from '../cohorts/store.ts';
import { IMAGES_COLLECTION } from '../labels/doc.ts';
import { type PatchRejection, patchRecords } from '../labels/patch.ts';
import type { LabelRepo } from '../labels/repo.ts';
import { bumpLabelsVersion } from '../labels/version-stamp.ts';
import type { DicomIdentity, ImageId } from '../model/index.ts';

export interface DicomRecordDeps {
  firestore: Firestore;
  collection?: string;
  /** Firestore ramp-up throttling: true in production, false on the emulator. */
  throttle: boolean;
  /** With both, the cohort rows of the changed images are upserted from the stored records. */
  cohorts?: CohortStore | undefined;
  labels?: LabelRepo | undefined;
}

export interface DicomRecordSummary {
  recorded: number;
  unchanged: number;
  /** Images with no document (not in the dataset), and records Firestore refused. */
  rejected: PatchRejection[];
  /** Writes that failed after retries: worth running again. */
  failed: PatchRejection[];
  cohortRows: number;
}

export async function recordDicomIdentities(
  items: readonly { imageId: ImageId; dicom: DicomIdentity }[],
  deps: DicomRecordDeps,
): Promise<DicomRecordSummary> {
  const collection = deps.collection ?? IMAGES_COLLECTION;
  const s = await patchRecords(
    deps.firestore,
    items.map((i) => ({ imageId: i.imageId, dicom: i.dicom })),
    { collection, throttle: deps.throttle },
  );
  const recorded = s.updated + s.created;
  if (recorded > 0) await bumpLabelsVersion(deps.firestore, collection);
  let cohortRows = 0;
  // Also for unchanged documents: a retry after a failed cohort upsert must still reach the cohort store.
  if (deps.cohorts && deps.labels) {
    const bad = new Set([...s.rejected, ...s.failed].map((r) => r.imageId));
    const ids = items.map((i) => i.imageId).filter((id) => !bad.has(id));
    const stored = ids.length ? await deps.labels.getImages(ids) : [];
    const rows = stored.flatMap((x) => (x ? [toCohortRows(x.record)] : []));
    if (rows.length) cohortRows = (await deps.cohorts.upsert(rows)).images;
  }
  return { recorded, unchanged: s.unchanged, rejected: s.rejected, failed: s.failed, cohortRows };
}
