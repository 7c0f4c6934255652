/**
 * The Firestore reads the labels function makes (documents:batchGet, one document GET, documents:runQuery),
 * over Firestore's REST API (v1, JSON) with node:http(s), which the framework has loaded already.
 *
 * Why not the SDK: @google-cloud/firestore takes 260-1,500 ms to import on a loaded 2-core machine (protos,
 * google-gax, gRPC), and `preferRest` still loads all of it plus google-auth-library, so the SDK alone costs
 * more than the framework's whole cold start. Three read calls and the value decoding are ~250 lines.
 * Bulk writes (label loads: BulkWriter) keep the SDK (firestore-client.ts); the upload function's ledger and
 * image registry write over REST too (shared/google/firestore-rest-tx.ts).
 *
 * Credentials: none against the emulator (it treats `Bearer owner` as admin, like the SDK sends); in the
 * cloud the access token of the instance's service account from the metadata server, refreshed a minute
 * before it expires; off Google Cloud (no metadata server), google-auth-library's Application Default
 * Credentials, loaded only then.
 */
import {
  type FirestoreConnectionOptions,
  firestoreConnection,
  toError,
} from '../google/firestore-rest-common.ts';
import { fromRestValue, type RestDocument } from '../google/firestore-rest-value.ts';

export type { RestDocument } from '../google/firestore-rest-value.ts';
export { GoogleRestError as FirestoreRestError } from '../google/rest-http.ts';

export type RestFirestoreOptions = FirestoreConnectionOptions;

/** A document read back: its id and decoded fields. */
export interface RestDoc {
  id: string;
  fields: Record<string, unknown>;
}

export interface RestFirestore {
  /** Documents of `collection` by id (one round trip); absent ids are absent from the map. */
  batchGet(
    collection: string,
    ids: readonly string[],
    mask: readonly string[],
  ): Promise<Map<string, RestDoc>>;
  /** One document, or undefined when it does not exist. */
  get(collection: string, id: string, mask: readonly string[]): Promise<RestDoc | undefined>;
  /** `where field == integer` ordered by another field, ascending. */
  queryByInt(
    collection: string,
    where: { field: string; value: number },
    orderBy: string,
    select: readonly string[],
  ): Promise<RestDoc[]>;
  /** Drops idle connections (tests, shutdown). */
  close(): void;
}

const docId = (name: string) => name.slice(name.lastIndexOf('/') + 1);
const docOf = (d: RestDocument): RestDoc => ({
  id: docId(d.name),
  fields: Object.fromEntries(Object.entries(d.fields ?? {}).map(([k, v]) => [k, fromRestValue(v)])),
});

/** `where field == integer` ordered by another field, ascending, selecting `select`: a StructuredQuery. */
function equalityQuery(
  collection: string,
  where: { field: string; value: number },
  orderBy: string,
  select: readonly string[],
) {
  return {
    from: [{ collectionId: collection }],
    where: {
      fieldFilter: {
        field: { fieldPath: where.field },
        op: 'EQUAL',
        value: { integerValue: String(where.value) },
      },
    },
    orderBy: [{ field: { fieldPath: orderBy }, direction: 'ASCENDING' }],
    select: { fields: select.map((fieldPath) => ({ fieldPath })) },
  };
}

/** A Firestore REST reader; create one per instance (it keeps its connections and token). */
export function createRestFirestore(opts: RestFirestoreOptions): RestFirestore {
  const conn = firestoreConnection(opts);
  const { call } = conn;
  const root = async () => `${await conn.database()}/documents`;

  return {
    async batchGet(collection, ids, mask) {
      const r = await root();
      const res = await call('POST', `${r}:batchGet`, {
        documents: ids.map((id) => `${r}/${collection}/${id}`),
        mask: { fieldPaths: mask },
      });
      if (res.status !== 200) throw toError(res, 'Firestore batchGet');
      const found = new Map<string, RestDoc>();
      for (const item of JSON.parse(res.body) as { found?: RestDocument }[]) {
        if (item.found) {
          const d = docOf(item.found);
          found.set(d.id, d);
        }
      }
      return found;
    },

    async get(collection, id, mask) {
      const r = await root();
      const q = mask.map((f) => `mask.fieldPaths=${encodeURIComponent(f)}`).join('&');
      const res = await call('GET', `${r}/${collection}/${encodeURIComponent(id)}?${q}`, undefined);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw toError(res, 'Firestore get');
      return docOf(JSON.parse(res.body) as RestDocument);
    },

    async queryByInt(collection, where, orderBy, select) {
      const r = await root();
      const structuredQuery = equalityQuery(collection, where, orderBy, select);
      const res = await call('POST', `${r}:runQuery`, { structuredQuery });
      if (res.status !== 200) throw toError(res, 'Firestore runQuery');
      const out: RestDoc[] = [];
      for (const item of JSON.parse(res.body) as { document?: RestDocument }[]) {
        if (item.document) out.push(docOf(item.document));
      }
      return out;
    },

    close() {
      conn.close();
    },
  };
}
