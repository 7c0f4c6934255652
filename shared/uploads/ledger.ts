/**
 * Exactly-once processing of (bucket, object, generation): a ledger document claimed in a transaction.
 * States: `processing` with a lease (a crashed attempt is taken over once its lease expired) and `done`.
 * A duplicate delivery after completion is a no-op; one arriving while another attempt holds the lease
 * throws UploadBusyError, so the platform redelivers it later instead of dropping an unfinished event.
 */
import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
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

export function createFirestoreLedger(db: () => Firestore, opts: LedgerOptions): Ledger {
  const now = opts.now ?? Date.now;
  const ref = (k: ObjectKey) =>
    db()
      .collection(opts.collection ?? LEDGER_COLLECTION)
      .doc(ledgerDocId(k));
  return {
    claim(key) {
      return db().runTransaction(async (tx): Promise<Claim> => {
        const r = ref(key);
        const snap = await tx.get(r);
        const t = now();
        if (!snap.exists) {
          tx.create(r, {
            ...key,
            state: 'processing',
            attempt: 1,
            leaseUntilMs: t + opts.leaseMs,
            startedAtMs: t,
          });
          return { status: 'claimed', attempt: 1 };
        }
        const state = snap.get('state') as string;
        if (state === 'done') return { status: 'done', outcome: snap.get('outcome') as unknown };
        const lease = Number(snap.get('leaseUntilMs') ?? 0);
        const attempt = Number(snap.get('attempt') ?? 0) + 1;
        if (lease > t) {
          throw new UploadBusyError(
            `gs://${key.bucket}/${key.name}#${key.generation} is being processed (lease until ${new Date(lease).toISOString()})`,
          );
        }
        tx.update(r, { state: 'processing', attempt, leaseUntilMs: t + opts.leaseMs, startedAtMs: t });
        return { status: 'claimed', attempt };
      });
    },

    async complete(key, attempt, outcome) {
      await ref(key).update({
        state: 'done',
        attempt,
        finishedAtMs: now(),
        outcome: JSON.parse(JSON.stringify(outcome)) as unknown,
      });
    },

    async release(key, attempt, error) {
      await db().runTransaction(async (tx) => {
        const r = ref(key);
        const snap = await tx.get(r);
        if (snap.get('state') !== 'processing' || Number(snap.get('attempt')) !== attempt) return;
        tx.update(r, { leaseUntilMs: now(), lastError: error.slice(0, 1000) });
      });
    },
  };
}
