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
import { imageIdOfDicomObject } from './identity.ts';

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

/**
 * An uploaded DICOM's identity on its image record, when the object is named `.../<imageId>.dcm` (the upload
 * processor). Throws only when a retry can help; an image that does not exist is a reason, not an error.
 */
export async function recordUploadedDicom(
  name: string,
  dicom: DicomIdentity,
  deps: {
    /** Asked for only when there is an identity to record (the upload processor loads the SDK then). */
    firestore: () => Firestore | Promise<Firestore>;
    throttle: boolean;
    /** Opened only here, for an identity to record: other image uploads never open the cohort store. */
    cohorts: () => CohortStore | Promise<CohortStore>;
    labels: LabelRepo;
    labelsCollection?: string | undefined;
  },
): Promise<{ imageId: string | null; recorded: boolean; reason: string | null }> {
  const imageId = imageIdOfDicomObject(name);
  if (!imageId)
    return { imageId: null, recorded: false, reason: 'the object name does not end in <imageId>.dcm' };
  const s = await recordDicomIdentities([{ imageId, dicom }], {
    firestore: await deps.firestore(),
    throttle: deps.throttle,
    cohorts: await deps.cohorts(),
    labels: deps.labels,
    ...(deps.labelsCollection ? { collection: deps.labelsCollection } : {}),
  });
  if (s.failed.length) throw new Error(`recording the DICOM identity failed: ${s.failed[0]!.reason}`);
  const reason = s.rejected[0]?.reason ?? null;
  return { imageId, recorded: reason === null, reason };
}
