/**
 * The splits of uploaded image lists, kept beside the image documents: an image can only be created with its
 * split, and a list may arrive before the metadata of its images. Sharded by the first six digits of the
 * image id (about 360 images per document), one map field per shard, merged key by key so that concurrent
 * list uploads never overwrite each other.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { ImageId, Split } from '../model/index.ts';

export const SPLITS_COLLECTION = 'uploads_splits';

function shardOf(id: string): string {
  return `p${id.slice(0, 6)}`;
}

function byShard<T extends string>(ids: Iterable<T>): Map<string, T[]> {
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

export function createSplitTable(db: () => Firestore, collection = SPLITS_COLLECTION): SplitTable {
  return {
    async put(splits) {
      const shards = byShard(splits.keys());
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
      const shards = byShard(ids);
      const names = [...shards.keys()];
      const out = new Map<ImageId, Split>();
      for (let i = 0; i < names.length; i += 100) {
        const refs = names.slice(i, i + 100).map((n) => db().collection(collection).doc(n));
        const snaps = await db().getAll(...refs);
        for (const snap of snaps) {
          const map = (snap.get('splits') ?? {}) as Record<string, Split>;
          for (const id of shards.get(snap.id) ?? []) {
            const s = map[id];
            if (s === 'train_val' || s === 'test') out.set(id, s);
          }
        }
      }
      return out;
    },
  };
}
