import type { Firestore } from '@google-cloud/firestore';
import type { ImageId, ImageRecord, PatientId } from '../model/index.ts';
import { fromImageDoc, IMAGES_COLLECTION, READ_FIELDS, type StoredImage } from './doc.ts';
import { withDeadline } from './errors.ts';
import { type LoadOptions, loadRecords } from './loader.ts';
import type { LabelRepo } from './repo.ts';

export interface FirestoreLabelRepoOptions {
  /**
   * A client, or a function that returns the same client (or a promise of it) every time: lazyFirestore,
   * which also defers loading the Firestore SDK to the first call.
   */
  firestore: Firestore | (() => Firestore | Promise<Firestore>);
  collection?: string;
  /** Ids per getAll round trip; default 250, chunks of one request run concurrently. */
  chunkSize?: number;
  /** Reads slower than this fail with LabelStoreUnavailableError; default 10 s. */
  timeoutMs?: number;
}

/** LabelRepo backed by Firestore (or its emulator). */
export function createFirestoreLabelRepo(opts: FirestoreLabelRepoOptions): LabelRepo {
  const db = typeof opts.firestore === 'function' ? opts.firestore : () => opts.firestore as Firestore;
  const collectionName = opts.collection ?? IMAGES_COLLECTION;
  // Awaited inside each deadline: on a cold instance the first read also loads the SDK.
  const col = async () => (await db()).collection(collectionName);
  const chunkSize = opts.chunkSize ?? 250;
  const timeoutMs = opts.timeoutMs ?? 10_000;

  const getChunk = async (ids: readonly string[]): Promise<Map<string, StoredImage>> => {
    const c = await col();
    const snaps = await c.firestore.getAll(...ids.map((id) => c.doc(id)), { fieldMask: [...READ_FIELDS] });
    const found = new Map<string, StoredImage>();
    for (const s of snaps) if (s.exists) found.set(s.id, fromImageDoc(s.id, s.data()));
    return found;
  };

  return {
    async getImage(id: ImageId) {
      const snap = await withDeadline(
        col().then((c) => c.doc(id).get()),
        timeoutMs,
        'Firestore get',
      );
      return snap.exists ? fromImageDoc(id, snap.data()) : undefined;
    },

    async getImages(ids: readonly ImageId[]) {
      const unique = [...new Set(ids)];
      const parts: string[][] = [];
      for (let i = 0; i < unique.length; i += chunkSize) parts.push(unique.slice(i, i + chunkSize));
      const maps = await withDeadline(Promise.all(parts.map(getChunk)), timeoutMs, 'Firestore getAll');
      const found = new Map<string, StoredImage>();
      for (const m of maps) for (const [k, v] of m) found.set(k, v);
      return ids.map((id) => found.get(id));
    },

    async getPatientImages(patientId: PatientId) {
      const query = col().then((c) =>
        c
          .where('patientId', '==', patientId)
          .orderBy('followUp')
          .select(...READ_FIELDS)
          .get(),
      );
      const snap = await withDeadline(query, timeoutMs, 'Firestore query');
      return snap.docs.map((d) => fromImageDoc(d.id, d.data()));
    },

    async upsertRecords(
      records: Iterable<ImageRecord> | AsyncIterable<ImageRecord>,
      loadOpts: LoadOptions = {},
    ) {
      return loadRecords(await db(), records, { collection: collectionName, ...loadOpts });
    },
  };
}
