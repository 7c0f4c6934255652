/**
 * The splits of uploaded image lists, kept beside the image documents: an image can only be created with its
 * split, and a list may arrive before the metadata of its images. Sharded by the first seven digits of the
 * image id, i.e. ten patients per document: at most 10 x 1,000 follow-ups = MAX_SPLITS_PER_SHARD entries
 * of about 25 bytes, a quarter of Firestore's 1 MiB document limit whatever a list holds (the NIH lists have
 * about 36 per shard). One map field per shard, merged key by key so that concurrent list uploads never
 * overwrite each other. Shards of the earlier layout (`p` + six digits, up to 100,000 entries, which could
 * outgrow a document) are still read, never written.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { ImageId, Split } from '../model/index.ts';

export const SPLITS_COLLECTION = 'uploads_splits';
/** Image ids one shard can hold: ten patient ids (the 8th digit) times 1,000 follow-ups. */
export const MAX_SPLITS_PER_SHARD = 10_000;

export function splitShardOf(id: string): string {
  return `s${id.slice(0, 7)}`;
}

function legacyShardOf(id: string): string {
  return `p${id.slice(0, 6)}`;
}

function byShard<T extends string>(ids: Iterable<T>, shardOf: (id: string) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const id of ids) {
    const s = shardOf(id);
    const list = out.get(s);
    if (list) list.push(id);
    else out.set(s, [id]);
  }
  return out;
}

export interface SplitTable {
  put(splits: ReadonlyMap<ImageId, Split>): Promise<void>;
  get(ids: Iterable<ImageId>): Promise<Map<ImageId, Split>>;
}

const READ_CHUNK = 100;

export function createSplitTable(db: () => Firestore, collection = SPLITS_COLLECTION): SplitTable {
  async function read(shards: Map<string, ImageId[]>, out: Map<ImageId, Split>): Promise<void> {
    const names = [...shards.keys()];
    for (let i = 0; i < names.length; i += READ_CHUNK) {
      const refs = names.slice(i, i + READ_CHUNK).map((n) => db().collection(collection).doc(n));
      const snaps = await db().getAll(...refs);
      for (const snap of snaps) {
        const map = (snap.get('splits') ?? {}) as Record<string, Split>;
        for (const id of shards.get(snap.id) ?? []) {
          const s = map[id];
          if (!out.has(id) && (s === 'train_val' || s === 'test')) out.set(id, s);
        }
      }
    }
  }

  return {
    async put(splits) {
      const shards = byShard(splits.keys(), splitShardOf);
      const bw = db().bulkWriter({ throttling: false });
      const writes: Promise<unknown>[] = [];
      for (const [shard, ids] of shards) {
        const map = Object.fromEntries(ids.map((id) => [id, splits.get(id)!]));
        writes.push(bw.set(db().collection(collection).doc(shard), { splits: map }, { merge: true }));
      }
      await bw.close();
      await Promise.all(writes);
    },

    async get(ids) {
      const list = [...ids];
      const out = new Map<ImageId, Split>();
      await read(byShard(list, splitShardOf), out);
      const missing = list.filter((id) => !out.has(id));
      if (missing.length > 0) await read(byShard(missing, legacyShardOf), out);
      return out;
    },
  };
}
