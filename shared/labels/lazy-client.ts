import type { Firestore } from '@google-cloud/firestore';
import { lazy } from '../lazy.ts';
import type { FirestoreClientOptions } from './client.ts';

/**
 * Google's "lazy initialization of globals" for Firestore: the first call loads the SDK (a separate chunk of
 * the function bundle, some 350 ms to import) and creates the client; every later call gets that same client.
 * A cold start whose requests never read Firestore never loads it. A failed load is retried by the next call.
 */
export function lazyFirestoreAsync(opts: FirestoreClientOptions = {}): () => Promise<Firestore> {
  return lazy(async () => (await import('./client.ts')).createFirestore(opts));
}
