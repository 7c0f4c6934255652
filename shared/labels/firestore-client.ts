/**
 * The Firestore client, the one way it is made. The SDK (some 350 ms of import; a chunk of its own in a
 * function bundle) is loaded by the first createFirestore, so a cold start whose requests never read
 * Firestore never loads it.
 */
import type { Firestore, Settings } from '@google-cloud/firestore';
import { type Lazy, lazy } from '../lazy.ts';

export interface FirestoreClientOptions {
  /** Required with the emulator; in Cloud Functions the client finds the project itself. */
  projectId?: string | undefined;
  /** `(default)` unless set. */
  databaseId?: string | undefined;
  /** `host:port` of the emulator; FIRESTORE_EMULATOR_HOST, when set, takes precedence in the client. */
  emulatorHost?: string | undefined;
  /**
   * HTTP/1.1 + JSON (google-gax's REST fallback) instead of gRPC, for unary calls; streams (listen, the
   * bidirectional write) keep gRPC.
   */
  preferRest?: boolean | undefined;
}

/** A new Firestore client; a process needs one (see lazyFirestore). */
export async function createFirestore(opts: FirestoreClientOptions = {}): Promise<Firestore> {
  const { Firestore } = await import('@google-cloud/firestore');
  const settings: Settings = {};
  if (opts.projectId) settings.projectId = opts.projectId;
  if (opts.databaseId) settings.databaseId = opts.databaseId;
  if (opts.emulatorHost) {
    settings.host = opts.emulatorHost;
    settings.ssl = false;
  }
  if (opts.preferRest) {
    settings.preferRest = true;
    // With the emulator, gRPC gets insecure channel credentials and no auth at all; the REST fallback
    // instead asks its GoogleAuth for a client (google-gax fallback.ts createStub), which off Google Cloud
    // fails with NO_ADC before any request. The emulator needs no credentials (the SDK's own
    // `Authorization: Bearer owner` header makes the caller admin), so give it an AuthClient that adds none.
    const emulated = opts.emulatorHost !== undefined || process.env.FIRESTORE_EMULATOR_HOST !== undefined;
    if (emulated) {
      const { PassThroughClient } = await import('google-auth-library');
      (settings as Settings & { authClient?: unknown }).authClient = new PassThroughClient();
    }
  }
  return new Firestore(settings);
}

/**
 * Google's "lazy initialization of globals" for Firestore: the first call creates the client, every later
 * call (concurrent first callers included) gets that same client; a failed creation is retried next time.
 */
export function lazyFirestore(opts: FirestoreClientOptions = {}): Lazy<Firestore> {
  return lazy(() => createFirestore(opts));
}
