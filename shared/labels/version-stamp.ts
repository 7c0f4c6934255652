/**
 * The labels version stamp: one small document per image collection (`labels-meta/<collection>`) whose
 * `stamp` changes whenever an upload has changed label documents. Each labels instance reads it at most every
 * LABELS_CACHE_CHECK_SECONDS and drops its cache when it changed (label-cache.ts), so a processed upload is
 * visible on every instance within that bound. The stamp is any new value, not a counter: instances only
 * compare it for equality, and a plain set needs no transaction and no FieldValue from the SDK.
 */
import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';

export const VERSION_COLLECTION = 'labels-meta';
export const VERSION_FIELDS = ['stamp'] as const;

/** Marks the labels of `collection` changed; call after the label writes have committed. */
export async function bumpLabelsVersion(
  db: Firestore,
  collection: string,
  now = new Date(),
): Promise<string> {
  const stamp = `${now.toISOString()} ${randomUUID()}`;
  await db.collection(VERSION_COLLECTION).doc(collection).set({ stamp, updatedAt: now });
  return stamp;
}
