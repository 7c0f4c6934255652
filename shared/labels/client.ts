import { Firestore, type Settings } from '@google-cloud/firestore';

export interface FirestoreClientOptions {
  /** Required with the emulator; in Cloud Functions the client finds the project itself. */
  projectId?: string | undefined;
  /** `(default)` unless set. */
  databaseId?: string | undefined;
  /** `host:port` of the emulator; FIRESTORE_EMULATOR_HOST, when set, takes precedence in the client. */
  emulatorHost?: string | undefined;
}

/** A new Firestore client; create one per process (see lazyFirestore). */
export function createFirestore(opts: FirestoreClientOptions = {}): Firestore {
  const settings: Settings = {};
  if (opts.projectId) settings.projectId = opts.projectId;
  if (opts.databaseId) settings.databaseId = opts.databaseId;
  if (opts.emulatorHost) {
    settings.host = opts.emulatorHost;
    settings.ssl = false;
  }
  return new Firestore(settings);
}

/** The client is created on first use, once; cold starts that never touch Firestore do not pay for it. */
export function lazyFirestore(opts: FirestoreClientOptions = {}): () => Firestore {
  let client: Firestore | undefined;
  return () => {
    client ??= createFirestore(opts);
    return client;
  };
}
