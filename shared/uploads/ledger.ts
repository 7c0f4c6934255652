/**
 * Exactly-once processing of (bucket, object, generation): a ledger document claimed in a transaction.
 * States: `processing` with a lease (a crashed attempt is taken over once its lease expired) and `done`.
 * A duplicate delivery after completion is a no-op; one arriving while another attempt holds the lease
 * throws UploadBusyError, so the platform redelivers it later instead of dropping an unfinished event.
 */
import { createHash } from 'node:crypto';
import type { DocUpdate, FirestoreWriter } from '../google/firestore-rest-tx.ts';
import { UploadBusyError } from './errors.ts';

export const LEDGER_COLLECTION = 'uploads_ledger';

export interface ObjectKey {
  bucket: string;
  name: string;
  generation: string;
}

export type Claim = { status: 'claimed'; attempt: number } | { status: 'done'; outcome: unknown };

export interface Ledger {
  claim(key: ObjectKey): Promise<Claim>;
  complete(key: ObjectKey, attempt: number, outcome: unknown): Promise<void>;
  /** The update `complete` sends, for a caller to commit along with another write (ImageRegistry.register). */
  completion(key: ObjectKey, attempt: number, outcome: unknown): DocUpdate;
  /** Ends this attempt's lease early after a failure, so that the retry need not wait for it. */
  release(key: ObjectKey, attempt: number, error: string): Promise<void>;
}

export function ledgerDocId(k: ObjectKey): string {
  return createHash('sha256').update(`${k.bucket}\n${k.name}\n${k.generation}`).digest('hex');
}

export interface LedgerOptions {
  leaseMs: number;
  now?: () => number;
  collection?: string;
}

/** The ledger in Firestore, over its REST API (see shared/google/firestore-rest-tx.ts for why not the SDK). */
export function createFirestoreLedger(db: FirestoreWriter, opts: LedgerOptions): Ledger {
  const now = opts.now ?? Date.now;
  const collection = opts.collection ?? LEDGER_COLLECTION;
  const completion = (key: ObjectKey, attempt: number, outcome: unknown): DocUpdate => ({
    collection,
    id: ledgerDocId(key),
    fields: { state: 'done', attempt, finishedAtMs: now(), outcome: JSON.parse(JSON.stringify(outcome)) },
  });
  return {
    async claim(key) {
      const id = ledgerDocId(key);
      const fresh = (t: number) => ({
        ...key,
        state: 'processing',
        attempt: 1,
        leaseUntilMs: t + opts.leaseMs,
        startedAtMs: t,
      });
      // A first delivery (the usual case) claims in one round trip; a redelivery takes the transaction.
      if (await db.create(collection, id, fresh(now()))) return { status: 'claimed', attempt: 1 };
      return db.runTransaction(async (tx): Promise<Claim> => {
        const doc = await tx.get(collection, id);
        const t = now();
        if (!doc) {
          tx.create(collection, id, fresh(t));
          return { status: 'claimed', attempt: 1 };
        }
        if (doc.state === 'done') return { status: 'done', outcome: doc.outcome };
        const lease = Number(doc.leaseUntilMs ?? 0);
        const attempt = Number(doc.attempt ?? 0) + 1;
        if (lease > t) {
          throw new UploadBusyError(
            `gs://${key.bucket}/${key.name}#${key.generation} is being processed (lease until ${new Date(lease).toISOString()})`,
          );
        }
        tx.update(collection, id, {
          state: 'processing',
          attempt,
          leaseUntilMs: t + opts.leaseMs,
          startedAtMs: t,
        });
        return { status: 'claimed', attempt };
      });
    },

    completion,

    async complete(key, attempt, outcome) {
      const u = completion(key, attempt, outcome);
      await db.update(u.collection, u.id, u.fields);
    },

    async release(key, attempt, error) {
      await db.runTransaction(async (tx) => {
        const id = ledgerDocId(key);
        const doc = await tx.get(collection, id);
        if (doc?.state !== 'processing' || Number(doc.attempt) !== attempt) return;
        tx.update(collection, id, { leaseUntilMs: now(), lastError: error.slice(0, 1000) });
      });
    },
  };
}
