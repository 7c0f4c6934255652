import type { Firestore } from '@google-cloud/firestore';
import type { FirestoreClientOptions } from './client.ts';

/**
 * Google's "lazy initialization of globals" for Firestore: the first call loads the SDK (a separate chunk of
 * the function bundle, some 350 ms to import) and creates the client; every later call gets that same client.
 * A cold start whose requests never read Firestore never loads it. A failed load is retried by the next call.
 */
export function lazyFirestoreAsync(opts: FirestoreClientOptions = {}): () => Promise<Firestore> {
  let client: Promise<Firestore> | undefined;
  return () => {
    client ??= import('./client.ts')
      .then(({ createFirestore }) => createFirestore(opts))
      .catch((err: unknown) => {
        client = undefined;
        throw err;
      });
    return client;
  };
}
