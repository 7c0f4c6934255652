/**
 * Firestore transactions and single-document updates over the REST API (v1, JSON: beginTransaction,
 * batchGet in the transaction, commit with preconditions, rollback), with node:http(s), which the framework
 * has loaded already. The upload function's ledger and image registry write through it, so that an image
 * upload on a cold instance never loads @google-cloud/firestore (some 170-270 ms of import plus its gRPC
 * channel set-up on the first call, measured in docs/deploy.md); label files still load the SDK for their bulk
 * writes (BulkWriter), only when one arrives.
 *
 * Semantics are the SDK's `runTransaction`: reads lock the documents until commit; `create` fails when the
 * document exists, `update` when it does not (the commit then throws ALREADY_EXISTS / NOT_FOUND); a commit or
 * a read that loses to a concurrent transaction (ABORTED) runs the function again, in a transaction that
 * names the one it retries (Firestore gives it priority), at most `maxAttempts` times with a growing pause;
 * any other error, or the function's own, rolls the transaction back and is thrown. Errors carry the gRPC
 * code (GoogleRestError), as the SDK's do.
 *
 * Credentials: `Bearer owner` against the emulator (admin, as the SDK sends); in the cloud the instance's
 * token from the metadata server (shared/google/rest-http.ts), else Application Default Credentials. With
 * `google` (GoogleEnv, read once at start-up): GCE_METADATA_HOST's metadata server, a
 * GOOGLE_APPLICATION_CREDENTIALS key file first, and HTTPS_PROXY / NO_PROXY for firestore.googleapis.com.
 */
import { type FirestoreConnectionOptions, firestoreConnection, toError } from './firestore-rest-common.ts';
import { fieldPath, type RestValueOut, toRestFields } from './firestore-rest-encode.ts';
import { fromRestValue, type RestDocument } from './firestore-rest-value.ts';
import { GoogleRestError } from './rest-http.ts';

export const ABORTED = 10;
const ALREADY_EXISTS = 6;

export interface FirestoreWriterOptions extends Omit<FirestoreConnectionOptions, 'maxResponseBytes'> {
  /** Runs of a transaction's function before an ABORTED commit is thrown; default 5 (the SDK's). */
  maxAttempts?: number;
}

export type Fields = Record<string, unknown>;

/** What a transaction's function sees: reads run now (and lock), writes are sent with the commit. */
export interface WriteTransaction {
  /** The document's fields, or undefined when it does not exist. */
  get(collection: string, id: string): Promise<Fields | undefined>;
  /** Fails the commit (ALREADY_EXISTS) if the document exists. */
  create(collection: string, id: string, fields: Fields): void;
  /** Replaces the given top-level fields; fails the commit (NOT_FOUND) if the document does not exist. */
  update(collection: string, id: string, fields: Fields): void;
  /** Replaces the whole document, creating it if need be. */
  set(collection: string, id: string, fields: Fields): void;
}

/** An update sent in the same commit as another write; like `update`, it fails the commit if the document is absent. */
export interface DocUpdate {
  collection: string;
  id: string;
  fields: Fields;
}

export interface FirestoreWriter {
  runTransaction<T>(fn: (tx: WriteTransaction) => Promise<T>): Promise<T>;
  /** One `update` outside a transaction (NOT_FOUND if the document does not exist). */
  update(collection: string, id: string, fields: Fields): Promise<void>;
  /**
   * Creates the document in one commit, unless it exists: true if created, false if it existed (nothing
   * written). Atomic, so a caller's transaction for the existing case can be skipped when it was absent.
   * The `alongside` updates go in the same commit: all are written, or (false, or an error) none.
   */
  create(collection: string, id: string, fields: Fields, alongside?: DocUpdate[]): Promise<boolean>;
  /** Starts fetching the project id and the access token (the cloud's metadata server); errors are left for the first call. */
  warm(): void;
  /** Drops idle connections (tests, shutdown). */
  close(): void;
}

interface Write {
  update: { name: string; fields: Record<string, RestValueOut> };
  updateMask?: { fieldPaths: string[] };
  currentDocument?: { exists: boolean };
}

/** POSTs JSON to `<database>/documents:<verb>`; the answer's JSON, or a GoogleRestError. */
function rpcClient(opts: FirestoreWriterOptions) {
  const conn = firestoreConnection({ ...opts, maxResponseBytes: 8 << 20 });
  const rpc = async (verb: string, body: unknown): Promise<unknown> => {
    const res = await conn.call('POST', `${await conn.database()}/documents:${verb}`, body);
    if (res.status !== 200) throw toError(res, `Firestore ${verb}`);
    return JSON.parse(res.body) as unknown;
  };
  return { rpc, database: conn.database, warm: conn.warm, close: conn.close };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

const updateWrite = (name: string, fields: Fields): Write => ({
  update: { name, fields: toRestFields(fields) },
  updateMask: { fieldPaths: Object.keys(fields).map(fieldPath) },
  currentDocument: { exists: true },
});

/** A transaction's reads (sent now, in transaction `id`) and writes (collected in `writes` for the commit). */
function transactionView(
  rpc: (verb: string, body: unknown) => Promise<unknown>,
  docName: (collection: string, id: string) => string,
  id: string,
  writes: Write[],
): WriteTransaction {
  return {
    async get(collection, docId) {
      const name = docName(collection, docId);
      const items = (await rpc('batchGet', { documents: [name], transaction: id })) as {
        found?: RestDocument;
      }[];
      const found = items.find((x) => x.found)?.found;
      if (!found) return undefined;
      return Object.fromEntries(Object.entries(found.fields ?? {}).map(([k, v]) => [k, fromRestValue(v)]));
    },
    create(collection, docId, fields) {
      const name = docName(collection, docId);
      writes.push({ update: { name, fields: toRestFields(fields) }, currentDocument: { exists: false } });
    },
    update(collection, docId, fields) {
      writes.push(updateWrite(docName(collection, docId), fields));
    },
    set(collection, docId, fields) {
      writes.push({ update: { name: docName(collection, docId), fields: toRestFields(fields) } });
    },
  };
}

/** A Firestore REST writer; create one per instance (it keeps its connections and token). */
export function createFirestoreWriter(opts: FirestoreWriterOptions): FirestoreWriter {
  const { rpc, database, warm, close } = rpcClient(opts);
  const maxAttempts = opts.maxAttempts ?? 5;
  const nameIn = (root: string) => (collection: string, id: string) => {
    if (id.includes('/')) throw new TypeError(`document id ${id} contains a slash`);
    return `${root}/documents/${collection}/${id}`;
  };

  /** One run of `fn` in a new transaction, committed; rolled back (best effort) if anything fails. */
  async function attempt<T>(
    fn: (tx: WriteTransaction) => Promise<T>,
    retrying: string | undefined,
  ): Promise<{ ok: true; result: T } | { ok: false; error: unknown; id: string }> {
    const readWrite = retrying ? { retryTransaction: retrying } : {};
    const { transaction: id } = (await rpc('beginTransaction', { options: { readWrite } })) as {
      transaction: string;
    };
    const writes: Write[] = [];
    try {
      const result = await fn(transactionView(rpc, nameIn(await database()), id, writes));
      await rpc('commit', { writes, transaction: id });
      return { ok: true, result };
    } catch (error) {
      await rpc('rollback', { transaction: id }).catch(() => {});
      return { ok: false, error, id };
    }
  }

  return {
    async runTransaction(fn) {
      let retrying: string | undefined;
      for (let n = 1; ; n++) {
        const r = await attempt(fn, retrying);
        if (r.ok) return r.result;
        const aborted = r.error instanceof GoogleRestError && r.error.code === ABORTED;
        if (!aborted || n >= maxAttempts) throw r.error;
        retrying = r.id;
        // 50, 100, 200, 400 ms, each with up to as much again at random: contenders spread out.
        await sleep(50 * 2 ** (n - 1) * (1 + Math.random()));
      }
    },

    async update(collection, id, fields) {
      await rpc('commit', { writes: [updateWrite(nameIn(await database())(collection, id), fields)] });
    },

    async create(collection, id, fields, alongside = []) {
      const docName = nameIn(await database());
      const write = {
        update: { name: docName(collection, id), fields: toRestFields(fields) },
        currentDocument: { exists: false },
      };
      const more = alongside.map((u) => updateWrite(docName(u.collection, u.id), u.fields));
      try {
        // The updates' precondition fails with NOT_FOUND, never ALREADY_EXISTS: false means the create's.
        await rpc('commit', { writes: [write, ...more] });
        return true;
      } catch (err) {
        if (err instanceof GoogleRestError && err.code === ALREADY_EXISTS) return false;
        throw err;
      }
    },

    warm,
    close,
  };
}
