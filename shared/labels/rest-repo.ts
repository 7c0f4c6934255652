/**
 * LabelRepo reads over Firestore's REST API (firestore-rest.ts), through the instance's label cache
 * (label-cache.ts) when one is given; writes go to another repo (the SDK one, created on first use). This is
 * the labels function's repo: its cold start loads no Firestore SDK at all.
 */
import type { ImageId, ImageRecord, PatientId } from '../model/index.ts';
import { stringBytes } from './byte-lru.ts';
import { fromImageDoc, IMAGES_COLLECTION, READ_FIELDS, SCHEMA_VERSION, type StoredImage } from './doc.ts';
import { withDeadline } from './errors.ts';
import type { RestDoc, RestFirestore } from './firestore-rest.ts';
import type { LabelCache } from './label-cache.ts';
import type { LoadOptions } from './loader.ts';
import { createReadBatcher, type Fields } from './read-batcher.ts';
import type { LabelRepo, StoredImageJson } from './repo.ts';
import { VERSION_COLLECTION, VERSION_FIELDS } from './version-stamp.ts';

/**
 * Cached per key: `<imageId>` an image's fields (null: no such image), `p/<patientId>` its images in order.
 * An image id (digits and `_`) never starts with `p/`; keyed by the id itself, a batch of 100 hits makes no
 * key strings.
 */
export type CacheValue = Fields | RestDoc[];

export interface RestLabelRepoOptions {
  firestore: () => RestFirestore;
  collection?: string;
  /** Ids per batchGet round trip; default 250, the chunks run concurrently (read-batcher.ts). */
  chunkSize?: number;
  /** Reads slower than this fail with LabelStoreUnavailableError; default 10 s. */
  timeoutMs?: number;
  cache?: LabelCache<CacheValue>;
  /** Where upsertRecords goes (the loader needs the SDK's BulkWriter). */
  writes: Pick<LabelRepo, 'upsertRecords'>;
}

const ENTRY_OVERHEAD = 160; // the Map entry, the key, the entry object and the fields object, roughly

function fieldsBytes(f: Fields): number {
  if (!f) return ENTRY_OVERHEAD;
  let n = ENTRY_OVERHEAD;
  for (const v of Object.values(f)) n += typeof v === 'string' ? stringBytes(v) : 16;
  return n;
}

/** The stamp reader the cache needs, over the same REST client. */
export function restStampReader(firestore: () => RestFirestore, collection: string) {
  return async (): Promise<string | undefined> => {
    const doc = await firestore().get(VERSION_COLLECTION, collection, VERSION_FIELDS);
    const stamp = doc?.fields.stamp;
    return typeof stamp === 'string' ? stamp : undefined;
  };
}

/** A stored image whose record is parsed on first use; `json` is the stored text. */
class JsonImage implements StoredImageJson {
  readonly json: string;
  readonly version: string;
  #parsed: StoredImage['record'] | undefined;
  readonly #id: string;
  readonly #fields: Record<string, unknown>;
  constructor(id: string, fields: Record<string, unknown>) {
    this.#id = id;
    this.#fields = fields;
    this.json = fields.record as string;
    this.version =
      typeof fields.contentHash === 'string' ? fields.contentHash : fromImageDoc(id, fields).version;
  }
  get record(): StoredImage['record'] {
    this.#parsed ??= fromImageDoc(this.#id, this.#fields).record;
    return this.#parsed;
  }
}

/** A stored image from its fields, or undefined for "no such image". */
function stored(id: string, f: Fields): StoredImage | undefined {
  if (!f) return undefined;
  // Not in the layout this code reads: fromImageDoc throws CorruptDocumentError.
  if (typeof f.record !== 'string' || f.schemaVersion !== SCHEMA_VERSION) return fromImageDoc(id, f);
  return new JsonImage(id, f);
}

/** Concurrent requests' reads of images share round trips (read-batcher.ts). */
function restBatcher(
  firestore: () => RestFirestore,
  collection: string,
  mask: readonly string[],
  chunkSize: number,
) {
  return createReadBatcher(() => {
    const fs = firestore();
    return {
      one: async (id) => (await fs.get(collection, id, mask))?.fields ?? null,
      many: async (ids) => {
        const docs = await fs.batchGet(collection, ids, mask);
        return new Map([...docs].map(([id, d]) => [id, d.fields]));
      },
    };
  }, chunkSize);
}

export function createRestLabelRepo(opts: RestLabelRepoOptions): LabelRepo {
  const collection = opts.collection ?? IMAGES_COLLECTION;
  const chunkSize = opts.chunkSize ?? 250;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const cache = opts.cache?.enabled ? opts.cache : undefined;
  const mask = [...READ_FIELDS];
  const epoch = () => (cache ? cache.fresh() : Promise.resolve(0));
  const batcher = restBatcher(opts.firestore, collection, mask, chunkSize);

  const readImages = async (ids: readonly string[]): Promise<Map<string, Fields>> => {
    const at = await epoch();
    const out = new Map<string, Fields>();
    const misses: string[] = [];
    for (const id of ids) {
      const hit = cache?.get(id);
      if (hit === undefined) misses.push(id);
      else out.set(id, hit as Fields);
    }
    if (misses.length === 0) return out;
    const found = await batcher.read(misses);
    for (const id of misses) {
      const fields = found.get(id) ?? null;
      out.set(id, fields);
      cache?.set(id, fields, fieldsBytes(fields), at);
    }
    return out;
  };

  return {
    async getImage(id: ImageId) {
      const read = async () => {
        const at = await epoch();
        const hit = cache?.get(id);
        if (hit !== undefined) return hit as Fields;
        const fields = (await batcher.read([id], true)).get(id) ?? null;
        cache?.set(id, fields, fieldsBytes(fields), at);
        return fields;
      };
      return stored(id, await withDeadline(read(), timeoutMs, 'Firestore get'));
    },

    async getImages(ids: readonly ImageId[]) {
      const found = await withDeadline(readImages([...new Set(ids)]), timeoutMs, 'Firestore batchGet');
      return ids.map((id) => stored(id, found.get(id) ?? null));
    },

    async getPatientImages(patientId: PatientId) {
      const read = async () => {
        const at = await epoch();
        const key = `p/${patientId}`;
        const hit = cache?.get(key);
        if (hit !== undefined) return hit as RestDoc[];
        const docs = await opts
          .firestore()
          .queryByInt(collection, { field: 'patientId', value: patientId }, 'followUp', mask);
        cache?.set(
          key,
          docs,
          docs.reduce((n, d) => n + fieldsBytes(d.fields), ENTRY_OVERHEAD),
          at,
        );
        return docs;
      };
      const docs = await withDeadline(read(), timeoutMs, 'Firestore query');
      return docs.map((d) => fromImageDoc(d.id, d.fields));
    },

    upsertRecords: (records: Iterable<ImageRecord> | AsyncIterable<ImageRecord>, loadOpts?: LoadOptions) =>
      opts.writes.upsertRecords(records, loadOpts),
  };
}
